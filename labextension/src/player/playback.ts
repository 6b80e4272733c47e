/**
 * The playback clock: plays a parsed recording into a sink in real time (at a chosen speed, with
 * pauses optionally capped) and seeks by resetting the terminal and fast-replaying the output
 * in chunks, so the page stays responsive even for long recordings.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { ICast, parseSize, Timeline } from './cast';

/** Where the played output goes; operations take effect in call order. */
export interface IPlaybackSink {
  /** Show output. */
  write(data: string): void;
  /** Resolves once everything written so far is on screen (or at least handed over). */
  settle(): Promise<void>;
  /** Resize the terminal, after everything written before is on screen. */
  resize(cols: number, rows: number): Promise<void>;
  /** A blank terminal of this size (full reset: screen, scrollback, modes). */
  reset(cols: number, rows: number): Promise<void>;
}

export type PlaybackState = 'paused' | 'playing' | 'seeking' | 'ended';

/** Output replayed per step while seeking, before the terminal is given time to draw it. */
const SEEK_CHUNK_CHARS = 256 * 1024;
/** The clock ticks at least this often while playing, even during long pauses (ms). */
const TICK_MS = 250;

export const SPEEDS: ReadonlyArray<number> = [0.5, 1, 2, 4, 8];

/** Plays one recording into one sink. */
export class Playback {
  constructor(
    readonly cast: ICast,
    private readonly _sink: IPlaybackSink,
    options: { speed?: number; idleLimit?: number | null } = {}
  ) {
    this._speed = options.speed ?? 1;
    this._timeline = new Timeline(cast, options.idleLimit ?? null);
  }

  /** Emitted on every change of state or position (several times a second while playing). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get state(): PlaybackState {
    if (this._seeking) {
      return 'seeking';
    }
    if (this._playing) {
      return 'playing';
    }
    return this._index >= this.cast.events.length &&
      this._position >= this.duration
      ? 'ended'
      : 'paused';
  }

  /** Played seconds since the start (idle time capped if so chosen). */
  get position(): number {
    return this._playing && !this._seeking
      ? Math.min(this._clock(), this.duration)
      : this._position;
  }

  /** Played seconds from start to end. */
  get duration(): number {
    return this._timeline.duration;
  }

  get timeline(): Timeline {
    return this._timeline;
  }

  get speed(): number {
    return this._speed;
  }

  get idleLimit(): number | null {
    return this._timeline.idleLimit;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Play from here; from the start once it has ended. */
  play(): void {
    if (this._playing || this._isDisposed) {
      return;
    }
    const ended = this.state === 'ended';
    this._playing = true;
    if (this._seeking) {
      this._emit(); // the seek starts the clock when it is done
    } else if (ended) {
      void this._seek(0);
    } else {
      this._startClock();
    }
  }

  pause(): void {
    if (!this._playing) {
      return;
    }
    this._playing = false;
    if (!this._seeking) {
      // Stop the clock's loop; a seek in progress carries on and then stays paused.
      this._position = Math.min(this._clock(), this.duration);
      this._generation++;
    }
    this._emit();
  }

  /** Show the terminal as it was at played time `t`. */
  seek(t: number): Promise<void> {
    return this._seek(Math.max(0, Math.min(t, this.duration)));
  }

  setSpeed(speed: number): void {
    if (!(speed > 0) || speed === this._speed) {
      return;
    }
    this._reanchor(() => {
      this._speed = speed;
    });
  }

  /** Cap pauses at `limit` seconds (null: play them as recorded). */
  setIdleLimit(limit: number | null): void {
    if (limit === this._timeline.idleLimit) {
      return;
    }
    this._reanchor(() => {
      const recorded = this._timeline.toRecorded(this._position);
      this._timeline = new Timeline(this.cast, limit);
      this._position = Math.min(
        this._timeline.fromRecorded(recorded),
        this.duration
      );
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._playing = false;
    this._generation++;
    Signal.clearData(this);
  }

  /** Change speed or timeline without a jump: freeze the position, change, restart the clock. */
  private _reanchor(change: () => void): void {
    const running = this._playing && !this._seeking;
    if (running) {
      this._position = Math.min(this._clock(), this.duration);
    }
    change();
    if (running) {
      this._startClock();
    } else {
      this._emit();
    }
  }

  private _clock(): number {
    return (
      this._anchorPosition +
      ((performance.now() - this._anchorTime) / 1000) * this._speed
    );
  }

  private _startClock(): void {
    const generation = ++this._generation;
    this._anchorPosition = this._position;
    this._anchorTime = performance.now();
    this._emit();
    void this._run(generation);
  }

  /** The clock's loop: shows every event whose time has come, then sleeps until the next. */
  private async _run(generation: number): Promise<void> {
    const count = this.cast.events.length;
    while (generation === this._generation && this._playing) {
      const now = Math.min(this._clock(), this.duration);
      if (!(await this._applyUntil(now, generation))) {
        return;
      }
      this._position = now;
      if (this._index >= count) {
        this._position = this.duration;
        this._playing = false;
        this._emit();
        return;
      }
      this._emit();
      const next = this._timeline.timeOf(this._index);
      const wait = ((next - this._clock()) * 1000) / this._speed;
      await sleep(Math.min(Math.max(wait, 0), TICK_MS));
    }
  }

  private async _seek(target: number): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    const generation = ++this._generation;
    this._seeking = true;
    this._emit();
    if (this._timeline.countAt(target) < this._index || this._index === 0) {
      // Backwards (or from nothing): a clean terminal, then everything up to the target.
      this._index = 0;
      await this._sink.reset(this.cast.width, this.cast.height);
      if (generation !== this._generation) {
        return;
      }
    }
    if (!(await this._applyUntil(target, generation))) {
      return;
    }
    this._position = target;
    this._seeking = false;
    if (this._playing && this._index < this.cast.events.length) {
      this._startClock();
    } else {
      this._playing = false;
      this._emit();
    }
  }

  /**
   * Send every event up to played time `t` that is not on screen yet, in chunks.
   * Returns false if something newer (a seek, a pause) took over meanwhile.
   */
  private async _applyUntil(t: number, generation: number): Promise<boolean> {
    const events = this.cast.events;
    const end = this._timeline.countAt(t);
    let output = '';
    while (this._index < end) {
      const event = events[this._index]!;
      this._index++;
      if (event.code === 'o') {
        output += event.data;
        if (output.length >= SEEK_CHUNK_CHARS) {
          this._sink.write(output);
          output = '';
          this._position = Math.max(
            this._position,
            this._timeline.timeOf(this._index - 1)
          );
          this._emit();
          await this._sink.settle();
          if (generation !== this._generation) {
            return false;
          }
        }
      } else if (event.code === 'r') {
        const size = parseSize(event.data);
        if (size) {
          this._sink.write(output);
          output = '';
          await this._sink.resize(size.cols, size.rows);
          if (generation !== this._generation) {
            return false;
          }
        }
      }
    }
    this._sink.write(output);
    return true;
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _timeline: Timeline;
  private _speed: number;
  /** Events [0, _index) have been sent to the sink. */
  private _index = 0;
  private _position = 0;
  private _playing = false;
  private _seeking = false;
  /** Bumped by every seek, pause and clock start; older loops see it and stop. */
  private _generation = 0;
  private _anchorPosition = 0;
  private _anchorTime = 0;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
