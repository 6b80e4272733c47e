/**
 * Reading asciicast files (v2, and v3's relative times) into a timeline the player can seek in:
 * cut-off files lose only their incomplete last line; anything else unreadable is a CastError
 * that says where and why.
 */

/** Event codes the player acts on: output, resize ("COLSxROWS"), marker. Others are kept out. */
export type PlayableCode = 'o' | 'r' | 'm';

/** One event the player acts on; `time` is seconds since the start of the recording. */
export interface ICastEvent {
  readonly time: number;
  readonly code: PlayableCode;
  readonly data: string;
}

/** A marker: a label at a time, and its event's index (seeking to it applies that event). */
export interface ICastMarker {
  readonly index: number;
  readonly time: number;
  readonly label: string;
}

/** A parsed recording. */
export interface ICast {
  /** The header as found (unknown keys kept). */
  readonly header: Readonly<Record<string, unknown>>;
  readonly version: 2 | 3;
  /** Initial terminal size. */
  readonly width: number;
  readonly height: number;
  readonly title: string | null;
  /** Unix time of the start, if the header says. */
  readonly timestamp: number | null;
  /** The header's own idle-time limit (seconds), if any. */
  readonly idleTimeLimit: number | null;
  /** Output, resize and marker events in time order. */
  readonly events: ReadonlyArray<ICastEvent>;
  readonly markers: ReadonlyArray<ICastMarker>;
  /** Seconds from the start to the last event. */
  readonly duration: number;
  /** The file ended inside a line (it was cut off mid-write): that line was left out. */
  readonly truncated: boolean;
  /** Events with codes the player does not show (input, exit status, unknown ones). */
  readonly skipped: number;
}

/** The data is not a playable asciicast file; the message is for people. */
export class CastError extends Error {
  constructor(
    message: string,
    readonly line: number | null = null
  ) {
    super(line === null ? message : `Line ${line}: ${message}`);
    this.name = 'CastError';
  }
}

/** The largest terminal the player will size itself to (the server's own limits). */
export const MAX_COLS = 1000;
export const MAX_ROWS = 500;

/** Parse "COLSxROWS", or null if it is not a sane size. */
export function parseSize(data: string): { cols: number; rows: number } | null {
  const match = /^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$/.exec(data);
  if (!match) {
    return null;
  }
  const cols = Number(match[1]);
  const rows = Number(match[2]);
  if (cols > MAX_COLS || rows > MAX_ROWS) {
    return null;
  }
  return { cols, rows };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInt(value: unknown, max: number): number | null {
  return typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= 1 &&
    value <= max
    ? value
    : null;
}

/**
 * Parse an asciicast file.
 *
 * A file that ends without a newline may have been cut off while the recording was written:
 * its last line is used only if it is a complete event, else it is left out (`truncated`).
 * Times that go backwards are clamped to the previous time, so the timeline stays ordered.
 *
 * Throws:
 *   CastError: not asciicast v2/v3, a bad header, or a bad line before the last one.
 */
export function parseCast(text: string): ICast {
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1);
  }
  const lines = text.split('\n');
  const endsWithNewline = text.endsWith('\n');
  if (endsWithNewline) {
    lines.pop();
  }
  const last = lines.length - 1;
  let truncated = false;

  const headerLine = lines[0]?.trim() ?? '';
  if (!headerLine) {
    throw new CastError('The file is empty: there is no recording in it.');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerLine);
  } catch {
    throw new CastError(
      last === 0 && !endsWithNewline
        ? 'The file ends inside its first line: the recording was cut off before it began.'
        : 'This is not an asciicast recording: the first line is not a JSON header.',
      1
    );
  }
  if (!isObject(header)) {
    throw new CastError(
      'This is not an asciicast recording: the first line is not a JSON object.',
      1
    );
  }
  const version = header.version;
  if (version === 1) {
    throw new CastError(
      'This is an asciicast v1 recording; only v2 and v3 can be played. ' +
        'Convert it with "asciinema convert".',
      1
    );
  }
  if (version !== 2 && version !== 3) {
    throw new CastError(
      `Unsupported asciicast version ${JSON.stringify(version ?? null)}; ` +
        'only v2 and v3 can be played.',
      1
    );
  }
  const term = isObject(header.term) ? header.term : {};
  const width = positiveInt(version === 2 ? header.width : term.cols, MAX_COLS);
  const height = positiveInt(
    version === 2 ? header.height : term.rows,
    MAX_ROWS
  );
  if (width === null || height === null) {
    throw new CastError(
      `The header has no valid terminal size (columns 1-${MAX_COLS}, rows 1-${MAX_ROWS}).`,
      1
    );
  }

  const events: ICastEvent[] = [];
  const markers: ICastMarker[] = [];
  let skipped = 0;
  let time = 0;
  for (let i = 1; i <= last; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (!trimmed || (version === 3 && trimmed.startsWith('#'))) {
      continue; // blank lines; v3 allows comments
    }
    let event: unknown;
    try {
      event = JSON.parse(trimmed);
    } catch {
      if (i === last && !endsWithNewline) {
        truncated = true; // cut off mid-write: everything before it is good
        break;
      }
      throw new CastError(
        'this line is not a JSON event [time, code, data].',
        i + 1
      );
    }
    if (
      !Array.isArray(event) ||
      event.length < 3 ||
      typeof event[0] !== 'number' ||
      !Number.isFinite(event[0]) ||
      event[0] < 0 ||
      typeof event[1] !== 'string' ||
      typeof event[2] !== 'string'
    ) {
      throw new CastError(
        'an event must be [time, code, data] with a time >= 0.',
        i + 1
      );
    }
    // v2 times count from the start; v3 times count from the previous event.
    const at: number = version === 2 ? event[0] : time + event[0];
    time = Math.max(time, at);
    const code = event[1];
    const data = event[2];
    if (code === 'o' || code === 'm') {
      if (code === 'm') {
        markers.push({ index: events.length, time, label: data });
      }
      events.push({ time, code, data });
    } else if (code === 'r' && parseSize(data) !== null) {
      events.push({ time, code, data });
    } else {
      skipped++;
    }
  }
  const limit = header.idle_time_limit;
  return {
    header,
    version,
    width,
    height,
    title:
      typeof header.title === 'string' && header.title ? header.title : null,
    timestamp: typeof header.timestamp === 'number' ? header.timestamp : null,
    idleTimeLimit: typeof limit === 'number' && limit > 0 ? limit : null,
    events,
    markers,
    duration: time,
    truncated,
    skipped
  };
}

/**
 * The times at which the player shows each event: the recorded times with every pause capped
 * at `idleLimit` seconds (no cap when null). Positions convert both ways, so the slider, the
 * clock and marker times all speak "played" time.
 */
export class Timeline {
  constructor(
    readonly cast: ICast,
    readonly idleLimit: number | null
  ) {
    const times = new Float64Array(cast.events.length);
    let played = 0;
    let previous = 0;
    cast.events.forEach((event, i) => {
      const gap = event.time - previous;
      played += idleLimit === null ? gap : Math.min(gap, idleLimit);
      previous = event.time;
      times[i] = played;
    });
    this._times = times;
    this.duration = times.length ? times[times.length - 1]! : 0;
  }

  /** Played seconds from the start to the last event. */
  readonly duration: number;

  /** When event `i` is shown, in played seconds. */
  timeOf(i: number): number {
    return this._times[i] ?? 0;
  }

  /** How many events are shown at played time `t` (events at exactly `t` included). */
  countAt(t: number): number {
    let lo = 0;
    let hi = this._times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this._times[mid]! <= t) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** Played time -> recorded time. */
  toRecorded(t: number): number {
    const n = this.countAt(t);
    if (n === 0) {
      return t;
    }
    const i = n - 1;
    const next = this.cast.events[n];
    const recorded = this.cast.events[i]!.time + (t - this._times[i]!);
    return next ? Math.min(recorded, next.time) : recorded;
  }

  /** Recorded time -> played time. */
  fromRecorded(t: number): number {
    const events = this.cast.events;
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (events[mid]!.time <= t) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo === 0) {
      return t;
    }
    const i = lo - 1;
    const pause = t - events[i]!.time;
    return (
      this._times[i]! +
      (this.idleLimit === null ? pause : Math.min(pause, this.idleLimit))
    );
  }

  private _times: Float64Array;
}

/** "1:05", "1:02:03", or with tenths "1:05.3": a position for people. */
export function formatTime(seconds: number, tenths = false): string {
  const scaled = Math.max(0, Math.floor(seconds * 10));
  const total = Math.floor(scaled / 10);
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  const ss = String(s).padStart(2, '0') + (tenths ? `.${scaled % 10}` : '');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
