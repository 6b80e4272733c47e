/**
 * The recording player: JupyterLab's own `Terminal` widget on a PlaybackConnection, at the
 * recording's size, with play/pause, a seek slider, speed, idle-time capping and the markers.
 *
 * The recorded grid is shown exactly, never re-wrapped: lines were drawn for that width. It is
 * fitted to the tab's width by a smaller font (down to a readable floor), and scrolls beyond
 * that; the marker list moves under the terminal when beside it would squeeze the grid. A
 * smaller font first because a recording is watched, not typed into: the whole screen at once
 * matters more than the font size, and a scrolled-away half of `top` tells nothing.
 */

import type { ServerConnection } from '@jupyterlab/services';
import { ITerminal, Terminal } from '@jupyterlab/terminal';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';
import type { Terminal as XTerm } from '@xterm/xterm';

import { describeError } from '../client';
import { CastError, formatTime, ICast, parseCast } from './cast';
import { PlaybackConnection } from './connection';
import { IPlaybackSink, Playback, PlaybackState, SPEEDS } from './playback';
import { Describe, IRecordingModel } from './recordings';

const PLAYER_CLASS = 'jp-SharedTerm-player';

/** Pauses longer than this are cut short when "Skip idle time" is on (seconds). */
export const DEFAULT_IDLE_LIMIT_S = 2;

/** JupyterLab's terminal font size when the user set none. */
const DEFAULT_FONT_SIZE = 13;
/** Fitting never shrinks the font below this (px); a wider grid scrolls instead. */
export const MIN_FIT_FONT_SIZE = 9;
/** The marker list's width beside the terminal (px; the stylesheet's `flex-basis`). */
const MARKERS_WIDTH = 260;

/** What the player plays: a recording on the server, or a `.cast` file. */
export interface IPlayerSource {
  /** The file's text, and the server's description of the recording when there is one. */
  load(): Promise<{ text: string; recording?: IRecordingModel | null }>;
}

/** The part of xterm.js the player needs beyond what the `Terminal` widget offers. */
type IXterm = Pick<XTerm, 'cols' | 'rows' | 'resize' | 'write'>;

/**
 * The xterm.js instance inside JupyterLab's `Terminal` widget, or null.
 *
 * The widget keeps it private and has no API to set a size (it only fits the terminal to the
 * widget); a player must show the recording at its own size, resize events included, so it
 * reaches in, checks the shape, and does without resizing if a future widget hides it.
 */
function xtermOf(widget: Terminal): IXterm | null {
  const term = (widget as unknown as { _term?: unknown })._term as
    | Partial<IXterm>
    | undefined;
  return term &&
    typeof term.resize === 'function' &&
    typeof term.write === 'function' &&
    typeof term.cols === 'number'
    ? (term as IXterm)
    : null;
}

/** Plays into the terminal widget; resizes wait until earlier output is drawn. */
class TerminalSink implements IPlaybackSink {
  constructor(
    private readonly _connection: PlaybackConnection,
    private readonly _xterm: IXterm | null,
    private readonly _onResize: (cols: number, rows: number) => void
  ) {}

  write(data: string): void {
    if (!data) {
      return;
    }
    if (this._pending === 0) {
      this._connection.write(data);
    } else {
      void this._enqueue(async () => this._connection.write(data));
    }
  }

  settle(): Promise<void> {
    return this._enqueue(() => this._drain());
  }

  resize(cols: number, rows: number): Promise<void> {
    return this._enqueue(async () => {
      await this._drain();
      if (
        this._xterm &&
        (this._xterm.cols !== cols || this._xterm.rows !== rows)
      ) {
        this._xterm.resize(cols, rows);
      }
      this._onResize(cols, rows);
    });
  }

  reset(cols: number, rows: number): Promise<void> {
    // CAN ends any escape sequence the output left open; ESC c is a full reset.
    this.write('\x18\x1bc');
    return this.resize(cols, rows);
  }

  /** Resolves when xterm.js has parsed everything written so far. */
  private _drain(): Promise<void> {
    const xterm = this._xterm;
    return new Promise(resolve => {
      if (xterm && !this._connection.isDisposed) {
        xterm.write('', resolve);
      } else {
        setTimeout(resolve, 0);
      }
    });
  }

  private _enqueue(task: () => Promise<void>): Promise<void> {
    this._pending++;
    const run = this._tail.then(task).finally(() => {
      this._pending--;
    });
    this._tail = run.catch(() => undefined);
    return run;
  }

  private _pending = 0;
  private _tail: Promise<void> = Promise.resolve();
}

/** A player for one recording. */
export class RecordingPlayer extends Panel {
  constructor(options: RecordingPlayer.IOptions) {
    super();
    this._source = options.source;
    this._serverSettings = options.serverSettings;
    this._terminalOptions = { ...options.terminalOptions };
    this._translator = options.translator ?? nullTranslator;
    this._trans = this._translator.load('jupyter_sharedterm');
    this._ownTitle = options.ownTitle ?? true;
    this.addClass(PLAYER_CLASS);
    const trans = this._trans;

    // --- what is playing -----------------------------------------------------------------------
    this._info = new Widget({ node: document.createElement('header') });
    this._info.addClass('jp-SharedTerm-playerInfo');
    this._heading = document.createElement('div');
    this._heading.className = 'jp-SharedTerm-playerTitle';
    this._details = document.createElement('div');
    this._details.className = 'jp-SharedTerm-playerDetails';
    this._notes = document.createElement('ul');
    this._notes.className = 'jp-SharedTerm-playerNotes';
    this._error = document.createElement('div');
    this._error.className = 'jp-SharedTerm-playerError';
    this._error.setAttribute('role', 'alert');
    this._error.hidden = true;
    this._info.node.append(
      this._heading,
      this._details,
      this._notes,
      this._error
    );

    // --- the terminal and the markers ----------------------------------------------------------
    this._body = new Panel();
    this._body.addClass('jp-SharedTerm-playerBody');
    this._stage = new Panel();
    this._stage.addClass('jp-SharedTerm-playerStage');
    this._markers = new Widget({ node: document.createElement('aside') });
    this._markers.addClass('jp-SharedTerm-playerMarkers');
    const markersTitle = document.createElement('h3');
    markersTitle.textContent = trans.__('Markers');
    this._markerList = document.createElement('ol');
    this._markerList.className = 'jp-SharedTerm-playerMarkerList';
    this._markers.node.append(markersTitle, this._markerList);
    this._body.addWidget(this._stage);
    this._body.addWidget(this._markers);

    // --- controls ------------------------------------------------------------------------------
    this._controls = new Widget();
    this._controls.addClass('jp-SharedTerm-playerControls');
    this._playButton = document.createElement('button');
    this._playButton.type = 'button';
    this._playButton.className =
      'jp-Button jp-mod-styled jp-mod-accept jp-SharedTerm-playerPlay';
    this._playButton.addEventListener('click', () => this.toggle());
    this._time = document.createElement('span');
    this._time.className = 'jp-SharedTerm-playerTime';
    this._time.setAttribute('aria-live', 'off');

    const track = document.createElement('div');
    track.className = 'jp-SharedTerm-playerTrack';
    this._slider = document.createElement('input');
    this._slider.type = 'range';
    this._slider.className = 'jp-SharedTerm-playerSeek';
    this._slider.min = '0';
    this._slider.step = 'any';
    this._slider.value = '0';
    this._slider.setAttribute('aria-label', trans.__('Position'));
    this._slider.addEventListener('input', () => {
      this._dragging = true;
      this._showTime(Number(this._slider.value));
    });
    this._slider.addEventListener('change', () => {
      this._dragging = false;
      void this._playback?.seek(Number(this._slider.value));
    });
    this._ticks = document.createElement('div');
    this._ticks.className = 'jp-SharedTerm-playerTicks';
    this._ticks.setAttribute('aria-hidden', 'true');
    track.append(this._ticks, this._slider);

    const speedLabel = document.createElement('label');
    speedLabel.className = 'jp-SharedTerm-playerSpeedLabel';
    speedLabel.textContent = trans.__('Speed');
    this._speed = document.createElement('select');
    this._speed.className = 'jp-SharedTerm-playerSpeed';
    for (const speed of SPEEDS) {
      const option = document.createElement('option');
      option.value = String(speed);
      option.textContent = `${speed}×`;
      option.selected = speed === 1;
      this._speed.appendChild(option);
    }
    this._speed.addEventListener('change', () => {
      this._playback?.setSpeed(Number(this._speed.value));
    });
    speedLabel.appendChild(this._speed);

    const idleLabel = document.createElement('label');
    idleLabel.className = 'jp-SharedTerm-playerIdleLabel';
    this._idle = document.createElement('input');
    this._idle.type = 'checkbox';
    this._idle.className = 'jp-SharedTerm-playerIdle';
    this._idle.checked = true;
    this._idle.addEventListener('change', () => {
      this._playback?.setIdleLimit(this._idleLimit());
      this._renderMarkers();
    });
    this._idleText = document.createElement('span');
    idleLabel.append(this._idle, this._idleText);

    const reload = document.createElement('button');
    reload.type = 'button';
    reload.className =
      'jp-Button jp-mod-styled jp-mod-reject jp-SharedTerm-playerReload';
    reload.textContent = trans.__('Reload');
    reload.title = trans.__(
      'Load the recording again (a live one has grown meanwhile)'
    );
    reload.addEventListener('click', () => void this.load());

    this._controls.node.append(
      this._playButton,
      this._time,
      track,
      speedLabel,
      idleLabel,
      reload
    );

    this.addWidget(this._info);
    this.addWidget(this._body);
    this.addWidget(this._controls);
    this._setState('loading');
    this._render();
    this._sizeWatch = new ResizeObserver(() => this._fit());
    this._sizeWatch.observe(this._body.node);
  }

  /** The recording, once loaded. */
  get cast(): ICast | null {
    return this._cast;
  }

  /** The terminal widget, once a recording is loaded. */
  get terminal(): Terminal | null {
    return this._terminal;
  }

  /** Load (or reload) the recording and show its first moment, paused. */
  async load(): Promise<void> {
    const attempt = ++this._loads;
    this._setState('loading');
    if (!this._cast && !this._recording) {
      this._heading.textContent = this._trans.__('Loading recording…');
    }
    let text: string;
    let recording: IRecordingModel | null;
    try {
      const loaded = await this._source.load();
      text = loaded.text;
      recording = loaded.recording ?? null;
    } catch (error) {
      if (attempt === this._loads) {
        this._fail(
          this._trans.__(
            'Could not load the recording: %1',
            describeError(error)
          )
        );
      }
      return;
    }
    if (attempt !== this._loads || this.isDisposed) {
      return;
    }
    let cast: ICast;
    try {
      cast = parseCast(text);
    } catch (error) {
      this._recording = recording;
      this._fail(
        error instanceof CastError
          ? this._trans.__('This recording cannot be played. %1', error.message)
          : this._trans.__('This recording cannot be played: %1', String(error))
      );
      return;
    }
    this._recording = recording;
    this._cast = cast;
    await this._start(cast);
  }

  /** Play, or pause while playing. */
  toggle(): void {
    const playback = this._playback;
    if (!playback) {
      return;
    }
    if (playback.state === 'playing') {
      playback.pause();
    } else {
      playback.play();
    }
  }

  /** Show the terminal as it was at played time `t` (seconds). */
  seek(t: number): Promise<void> {
    return this._playback?.seek(t) ?? Promise.resolve();
  }

  /** Apply one of the user's terminal settings (font, theme...) to the player's terminal. */
  setTerminalOption<K extends keyof ITerminal.IOptions>(
    key: K,
    value: ITerminal.IOptions[K]
  ): void {
    this._terminalOptions[key] = value;
    if (key === 'fontSize') {
      this._fit(); // the user's size is the one fitting starts from
    } else if (this._terminal && !this._terminal.isDisposed) {
      this._terminal.setOption(key, value);
      this._fit();
    }
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._loads++;
    this._sizeWatch.disconnect();
    this._stop();
    super.dispose();
  }

  private async _start(cast: ICast): Promise<void> {
    this._stop();
    const connection = new PlaybackConnection(
      this._recording?.id ?? 'recording',
      this._serverSettings
    );
    // The recording's size, always: a player that fits the terminal to the tab would wrap
    // lines the program drew for another width.
    const options = {
      ...this._terminalOptions,
      autoFit: false,
      cursorBlink: false,
      shutdownOnClose: false,
      closeOnExit: false,
      initialCommand: '',
      cols: cast.width,
      rows: cast.height,
      disableStdin: true
    } as Partial<ITerminal.IOptions>;
    const terminal = new Terminal(connection, options, this._translator);
    terminal.addClass('jp-SharedTerm-playerTerminal');
    this._connection = connection;
    this._terminal = terminal;
    this._stage.addWidget(terminal);
    this._onResize(cast.width, cast.height);
    try {
      await terminal.ready;
    } catch (error) {
      this._fail(
        this._trans.__('The terminal could not start: %1', String(error))
      );
      return;
    }
    if (terminal.isDisposed || this._terminal !== terminal) {
      return;
    }
    const sink = new TerminalSink(connection, xtermOf(terminal), (cols, rows) =>
      this._onResize(cols, rows)
    );
    const playback = new Playback(cast, sink, {
      speed: Number(this._speed.value),
      idleLimit: this._idleLimit()
    });
    this._playback = playback;
    playback.changed.connect(this._onChanged, this);
    this._renderMarkers();
    this._render();
    // xterm.js draws its grid once the widget is shown: fit it then, and whenever it changes.
    this._sizeWatch.observe(terminal.node);
    await playback.seek(0);
  }

  private _stop(): void {
    if (this._terminal) {
      this._sizeWatch.unobserve(this._terminal.node);
    }
    this._playback?.dispose();
    this._playback = null;
    this._terminal?.dispose();
    this._terminal = null;
    this._connection?.dispose();
    this._connection = null;
  }

  private _fail(message: string): void {
    this._stop();
    this._cast = null;
    this._error.textContent = message;
    this._setState('error');
    this._render();
  }

  private _idleLimit(): number | null {
    if (!this._idle.checked) {
      return null;
    }
    return this._cast?.idleTimeLimit ?? DEFAULT_IDLE_LIMIT_S;
  }

  private _onResize(cols: number, rows: number): void {
    this.node.dataset.cols = String(cols);
    this.node.dataset.rows = String(rows);
    this._fit();
  }

  /**
   * Fit the recorded grid to the tab's width with the font size, never its columns: the markers
   * go under the terminal if beside it the grid would need a smaller font, then the font
   * shrinks (down to `MIN_FIT_FONT_SIZE`) until the grid fits; what still does not fit scrolls.
   */
  private _fit(): void {
    const terminal = this._terminal;
    const screen = terminal?.node.querySelector<HTMLElement>('.xterm-screen');
    if (!terminal || terminal.isDisposed || !screen || !screen.offsetWidth) {
      return;
    }
    const wanted = this._terminalOptions.fontSize ?? DEFAULT_FONT_SIZE;
    const current = terminal.getOption('fontSize') ?? wanted;
    // Cells scale with the font: the grid's width at the user's own font size.
    const natural = (screen.offsetWidth * wanted) / current;
    const stageWidth = (): number => {
      const stage = this._stage.node;
      const style = getComputedStyle(stage);
      return (
        stage.clientWidth -
        parseFloat(style.paddingLeft) -
        parseFloat(style.paddingRight)
      );
    };
    const stacked = this._body.node.clientWidth - MARKERS_WIDTH < natural + 16;
    this._body.toggleClass('jp-mod-stacked', stacked);
    const room = stageWidth();
    if (room <= 0) {
      return;
    }
    const scale = Math.min(1, room / natural);
    // Whole tenths, rounded down: a cell's width is rounded by the renderer, so err small.
    const size = Math.max(
      MIN_FIT_FONT_SIZE,
      Math.min(wanted, Math.floor(wanted * scale * 10) / 10)
    );
    if (size !== current) {
      terminal.setOption('fontSize', size);
    }
    this.node.dataset.fit = (size / wanted).toFixed(2);
  }

  private _onChanged(): void {
    const playback = this._playback;
    if (!playback) {
      return;
    }
    this._setState(playback.state);
    const position = playback.position;
    this.node.dataset.position = position.toFixed(3);
    if (!this._dragging) {
      this._slider.max = String(playback.duration);
      this._slider.value = String(position);
      this._showTime(position);
    }
    const playing = playback.state === 'playing';
    this._playButton.textContent = playing
      ? this._trans.__('Pause')
      : playback.state === 'ended'
        ? this._trans.__('Replay')
        : this._trans.__('Play');
    this._playButton.setAttribute('aria-pressed', String(playing));
    this._highlightMarker(position);
  }

  private _setState(state: PlaybackState | 'loading' | 'error'): void {
    this.node.dataset.state = state;
    const ready = state !== 'loading' && state !== 'error';
    this._error.hidden = state !== 'error';
    this._body.setHidden(state === 'error');
    this._controls.setHidden(state === 'error');
    for (const control of [
      this._playButton,
      this._slider,
      this._speed,
      this._idle
    ]) {
      control.disabled = !ready;
    }
  }

  private _showTime(position: number): void {
    const duration = this._playback?.duration ?? 0;
    this._time.textContent = `${formatTime(position)} / ${formatTime(duration)}`;
  }

  /** Title, details and notes: all text, never HTML (titles and labels come from people). */
  private _render(): void {
    const trans = this._trans;
    const cast = this._cast;
    const recording = this._recording;
    const title =
      (recording ? Describe.title(trans, recording) : null) ??
      cast?.title ??
      trans.__('Terminal recording');
    if (this.node.dataset.state !== 'loading' || cast || recording) {
      this._heading.textContent = title;
    }
    const label = recording ? Describe.label(trans, recording) : title;
    if (this._ownTitle) {
      this.title.label = trans.__('Recording: %1', label);
    }
    this.title.caption = label;

    const details: string[] = [];
    if (recording) {
      details.push(Describe.kind(trans, recording.kind));
      details.push(Describe.state(trans, recording.state));
      details.push(trans.__('started %1', Describe.started(recording)));
    } else if (cast?.timestamp) {
      details.push(
        trans.__('started %1', new Date(cast.timestamp * 1000).toLocaleString())
      );
    }
    if (cast) {
      details.push(trans.__('%1 × %2', cast.width, cast.height));
      details.push(formatTime(cast.duration));
    }
    // How it ended is a fact, not a warning: with the details, not the notes.
    const ended = recording ? Describe.ended(recording) : null;
    if (ended) {
      details.push(ended);
    }
    this._details.textContent = details.join(' · ');
    if (recording) {
      this.node.dataset.recordingState = recording.state;
    }

    const notes: string[] = [];
    if (recording?.state === 'recording' || recording?.state === 'paused') {
      notes.push(
        trans.__('Still being recorded: Reload to see what was added since.')
      );
    }

    if (recording && recording.events_lost > 0) {
      notes.push(
        trans._n(
          '%1 event was lost while recording; the screen was redrawn after the gap.',
          '%1 events were lost while recording; the screen was redrawn after the gap.',
          recording.events_lost,
          recording.events_lost
        )
      );
    }
    if (cast?.truncated) {
      notes.push(
        trans.__(
          'The file ends in the middle of a line (it was cut off while being written); that last line was left out.'
        )
      );
    }
    this._notes.replaceChildren(
      ...notes.map(text => {
        const item = document.createElement('li');
        item.textContent = text;
        return item;
      })
    );
    const limit = cast?.idleTimeLimit ?? DEFAULT_IDLE_LIMIT_S;
    this._idleText.textContent = trans.__(
      'Skip idle time (pauses up to %1 s)',
      limit
    );
    this._showTime(this._playback?.position ?? 0);
  }

  /** The markers, as text; clicking one seeks there. Times follow the idle-time setting. */
  private _renderMarkers(): void {
    const cast = this._cast;
    const playback = this._playback;
    const items: HTMLElement[] = [];
    const ticks: HTMLElement[] = [];
    if (cast && playback) {
      const timeline = playback.timeline;
      const duration = timeline.duration;
      for (const marker of cast.markers) {
        const at = timeline.timeOf(marker.index);
        const item = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'jp-SharedTerm-playerMarker';
        button.dataset.time = String(at);
        const time = document.createElement('span');
        time.className = 'jp-SharedTerm-playerMarkerTime';
        time.textContent = formatTime(at, true);
        const label = document.createElement('span');
        label.className = 'jp-SharedTerm-playerMarkerLabel';
        label.textContent = marker.label;
        button.append(time, label);
        button.title = this._trans.__('Go to %1', formatTime(at, true));
        button.addEventListener('click', () => void playback.seek(at));
        item.appendChild(button);
        items.push(item);

        const tick = document.createElement('span');
        tick.className = 'jp-SharedTerm-playerTick';
        tick.style.left = `${duration > 0 ? (at / duration) * 100 : 0}%`;
        ticks.push(tick);
      }
    }
    if (!items.length) {
      const empty = document.createElement('li');
      empty.className = 'jp-SharedTerm-playerNoMarkers';
      empty.textContent = this._trans.__('No markers in this recording.');
      items.push(empty);
    }
    this._markerList.replaceChildren(...items);
    this._ticks.replaceChildren(...ticks);
    this._highlighted = null;
    if (playback) {
      this._highlightMarker(playback.position);
    }
  }

  /** Mark the last marker at or before `position` as the current one. */
  private _highlightMarker(position: number): void {
    let current: HTMLElement | null = null;
    for (const button of this._markerList.querySelectorAll<HTMLElement>(
      '.jp-SharedTerm-playerMarker'
    )) {
      if (Number(button.dataset.time) <= position + 1e-6) {
        current = button;
      }
    }
    if (current === this._highlighted) {
      return;
    }
    this._highlighted?.removeAttribute('aria-current');
    current?.setAttribute('aria-current', 'true');
    this._highlighted = current;
  }

  private _source: IPlayerSource;
  private _serverSettings: ServerConnection.ISettings;
  private _terminalOptions: Partial<ITerminal.IOptions>;
  private _translator: ITranslator;
  private _trans: TranslationBundle;
  private _ownTitle: boolean;
  private _recording: IRecordingModel | null = null;
  private _cast: ICast | null = null;
  private _connection: PlaybackConnection | null = null;
  private _terminal: Terminal | null = null;
  private _playback: Playback | null = null;
  private _loads = 0;
  private _dragging = false;
  private _highlighted: HTMLElement | null = null;
  private _sizeWatch: ResizeObserver;

  private _info: Widget;
  private _heading: HTMLDivElement;
  private _details: HTMLDivElement;
  private _notes: HTMLUListElement;
  private _error: HTMLDivElement;
  private _body: Panel;
  private _stage: Panel;
  private _markers: Widget;
  private _markerList: HTMLOListElement;
  private _controls: Widget;
  private _playButton: HTMLButtonElement;
  private _time: HTMLSpanElement;
  private _slider: HTMLInputElement;
  private _ticks: HTMLDivElement;
  private _speed: HTMLSelectElement;
  private _idle: HTMLInputElement;
  private _idleText: HTMLSpanElement;
}

export namespace RecordingPlayer {
  export interface IOptions {
    source: IPlayerSource;
    serverSettings: ServerConnection.ISettings;
    /** The user's terminal settings (font, theme, screen-reader mode...). */
    terminalOptions?: Partial<ITerminal.IOptions>;
    translator?: ITranslator;
    /** Name the tab after the recording (false when a document widget names it). */
    ownTitle?: boolean;
  }
}
