/**
 * SharedTerminalConnection: an `ITerminalConnection` over `api/sharedterm/sessions/SID/terminal`,
 * so JupyterLab's own `Terminal` widget (theme, font, search, fit) shows a shared session.
 *
 * It waits for `setup` on every socket, reconnects with exponential backoff and jitter, reports
 * why it stopped (session ended, removed, unreachable), and refuses input client-side while the
 * participant is a viewer (defence in depth: the server refuses it anyway).
 */

import { URLExt } from '@jupyterlab/coreutils';
import type {
  ServerConnection,
  Terminal as TerminalAPI
} from '@jupyterlab/services';
import { PromiseDelegate } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import { SharedTermClient, SharedTermError } from './client';
import {
  ClientFrame,
  CloseCode,
  decodeServerFrame,
  IRecordingState,
  ISetup,
  mayType,
  Role,
  Routes,
  ServerCtl
} from './protocol';

/** Where a connection stands. The last three are final until `reconnect()` is called. */
export type ConnectionPhase =
  | 'connecting'
  | 'connected'
  | 'reconnecting'
  | 'ended'
  | 'removed'
  | 'failed';

/** The state shown to people: never a dead terminal without a reason. */
export interface IConnectionState {
  readonly phase: ConnectionPhase;
  /** Reconnect attempts since the last successful `setup`. */
  readonly attempt: number;
  /** When the next attempt starts (epoch ms), while reconnecting. */
  readonly retryAt: number | null;
  /** Why: the server's disconnect reason, the end reason, or what went wrong. */
  readonly reason: string;
  /** The close code behind the state, when there is one. */
  readonly code: number | null;
}

/** A connection to one shared session's terminal. */
export class SharedTerminalConnection
  implements TerminalAPI.ITerminalConnection
{
  constructor(options: SharedTerminalConnection.IOptions) {
    this.sessionId = options.sessionId;
    this.serverSettings = options.client.serverSettings;
    this._client = options.client;
    this._probe = options.probe ?? true;
    this._backoff = {
      ...SharedTerminalConnection.DEFAULT_BACKOFF,
      ...options.backoff
    };
    this._connect();
  }

  /** The shared session's id. */
  readonly sessionId: string;

  readonly serverSettings: ServerConnection.ISettings;

  /** The terminal's name, for the `Terminal` widget: the session id. */
  get name(): string {
    return this.sessionId;
  }

  get model(): TerminalAPI.IModel {
    return { name: this.sessionId };
  }

  get messageReceived(): ISignal<this, TerminalAPI.IMessage> {
    return this._messageReceived;
  }

  get connectionStatus(): TerminalAPI.ConnectionStatus {
    return this._status;
  }

  get connectionStatusChanged(): ISignal<this, TerminalAPI.ConnectionStatus> {
    return this._statusChanged;
  }

  get state(): IConnectionState {
    return this._state;
  }

  /** Emitted on every change of `state`. */
  get stateChanged(): ISignal<this, IConnectionState> {
    return this._stateChanged;
  }

  /** The last `setup` frame (who you are), or null before the first one. */
  get setup(): ISetup | null {
    return this._setup;
  }

  /** Emitted for every `setup` frame, i.e. on every (re)connection. */
  get setupReceived(): ISignal<this, ISetup> {
    return this._setupReceived;
  }

  /** Your current role, or null before the first `setup`. */
  get role(): Role | null {
    return this._role;
  }

  /** Emitted when your role changes after the first `setup` (a `role` frame, or a reconnect). */
  get roleChanged(): ISignal<this, Role> {
    return this._roleChanged;
  }

  /** Every `ctl` frame from the server, after `setup`. */
  get ctlReceived(): ISignal<this, ServerCtl> {
    return this._ctlReceived;
  }

  /** Emitted (at most once a second) when typing was not sent because you are a viewer. */
  get inputRefused(): ISignal<this, void> {
    return this._inputRefused;
  }

  /** The recording state the server reported (hook for a recording banner). */
  get recording(): IRecordingState | null {
    return this._recording;
  }

  get recordingChanged(): ISignal<this, IRecordingState | null> {
    return this._recordingChanged;
  }

  get disposed(): ISignal<this, void> {
    return this._disposed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Send a terminal message. `stdin` and `set_size` are dropped while you are a viewer (the size
   * is remembered and sent once you may type); everything is dropped while disconnected, so
   * stale keystrokes are never replayed into a shell after a reconnect.
   */
  send(message: TerminalAPI.IMessage): void {
    const content = message.content ?? [];
    if (message.type === 'set_size') {
      this._lastSize = content;
      if (mayType(this._role)) {
        this._sendRaw(ClientFrame.setSize(content));
      }
      return;
    }
    if (message.type === 'stdin') {
      if (!mayType(this._role)) {
        this._refuseInput();
        return;
      }
      const text = content[0];
      if (typeof text === 'string') {
        this._sendRaw(ClientFrame.stdin(text));
      }
    }
  }

  /**
   * Ask the people at the keyboard a question (anyone may).
   *
   * Throws if the terminal is not connected.
   */
  ask(text: string): void {
    this._sendOrThrow(ClientFrame.question(text));
  }

  /**
   * Mark a question answered (owners and co-workers).
   *
   * Throws if the terminal is not connected.
   */
  answerQuestion(id: string): void {
    this._sendOrThrow(ClientFrame.answerQuestion(id));
  }

  /**
   * Connect again now, whatever the state (also after the session ended: the answer then says
   * so again). Resolves once connected; rejects if the connection gives up.
   */
  reconnect(): Promise<void> {
    if (this._isDisposed) {
      return Promise.reject(new Error('The connection is disposed.'));
    }
    this._attempt = 0;
    this._connect();
    return this._waitConnected();
  }

  /** Leave the session on this page: closes the socket. The session itself goes on. */
  async shutdown(): Promise<void> {
    this.dispose();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._clearTimer();
    this._closeSocket();
    this._setStatus('disconnected');
    this._disposed.emit();
    Signal.clearData(this);
  }

  // --- socket lifecycle ------------------------------------------------------------------------

  private _connect(): void {
    this._clearTimer();
    this._closeSocket();
    this._gotSetup = false;
    this._disconnectFrame = null;
    this._setState({
      phase:
        this._attempt === 0 && this._setup === null
          ? 'connecting'
          : 'reconnecting',
      retryAt: null
    });
    this._setStatus('connecting');

    const settings = this.serverSettings;
    let url = URLExt.join(
      settings.wsUrl,
      Routes.sessions,
      encodeURIComponent(this.sessionId),
      'terminal'
    );
    // Same rule as JupyterLab's own TerminalConnection: browsers cannot set headers on a
    // websocket, so a token (when the page has one) travels in the query.
    const token = settings.token;
    if (settings.appendToken && token !== '') {
      url = url + `?token=${encodeURIComponent(token)}`;
    }
    const ws = new settings.WebSocket(url);
    ws.onmessage = (event: MessageEvent) => this._onMessage(ws, event);
    ws.onclose = (event: CloseEvent) => this._onClose(ws, event);
    this._ws = ws;
  }

  private _onMessage(ws: WebSocket, event: MessageEvent): void {
    if (ws !== this._ws || this._isDisposed) {
      return;
    }
    const frame = decodeServerFrame(event.data);
    if (frame === null) {
      return;
    }
    if (frame.kind === 'disconnect') {
      this._disconnectFrame = { code: frame.code, reason: frame.reason };
      return;
    }
    // After (re)connecting, everything before `setup` is ignored.
    if (!this._gotSetup) {
      if (frame.kind !== 'setup') {
        return;
      }
      this._onSetup(frame.setup);
      return;
    }
    switch (frame.kind) {
      case 'setup':
        this._onSetup(frame.setup);
        break;
      case 'stdout':
        this._messageReceived.emit({ type: 'stdout', content: [frame.text] });
        break;
      case 'ctl':
        this._onCtl(frame.ctl);
        break;
    }
  }

  private _onSetup(setup: ISetup): void {
    const previous = this._role;
    this._gotSetup = true;
    this._setup = setup;
    this._role = setup.role;
    this._attempt = 0;
    this._setRecording(setup.recording ?? null);
    this._setupReceived.emit(setup);
    this._setState({
      phase: 'connected',
      retryAt: null,
      reason: '',
      code: null
    });
    this._setStatus('connected');
    if (previous !== null && previous !== setup.role) {
      this._roleChanged.emit(setup.role);
    }
    // The widget sends its size once, on the first connection; a new socket needs it again.
    this._sendSize();
  }

  private _onCtl(ctl: ServerCtl): void {
    if (ctl.type === 'role') {
      const changed = ctl.role !== this._role;
      this._role = ctl.role;
      if (changed) {
        this._roleChanged.emit(ctl.role);
        this._sendSize();
      }
    } else if (ctl.type === 'recording') {
      this._setRecording({
        id: ctl.id,
        state: ctl.state,
        message: ctl.message
      });
    }
    this._ctlReceived.emit(ctl);
  }

  private _onClose(ws: WebSocket, event: CloseEvent): void {
    if (ws !== this._ws || this._isDisposed) {
      return;
    }
    this._ws = null;
    const frame = this._disconnectFrame;
    const code = frame?.code ?? event.code;
    const reason = frame?.reason || event.reason || '';
    if (code === CloseCode.SESSION_ENDED) {
      this._stop('ended', code, reason || 'The session has ended.');
    } else if (code === CloseCode.REMOVED) {
      this._stop(
        'removed',
        code,
        reason || 'You were removed from this session.'
      );
    } else if (!this._gotSetup && this._probe) {
      // Refused before the upgrade (ended, removed, unknown) or the server is down: a
      // browser websocket cannot see the HTTP status, so ask the REST API why.
      void this._askWhy(code, reason);
    } else {
      this._retry(code, reason || Private.closeReason(code));
    }
  }

  private async _askWhy(code: number, reason: string): Promise<void> {
    const socketBefore = this._ws;
    let outcome: (() => void) | null = null;
    try {
      const model = await this._client.getSession(this.sessionId);
      if (model.state === 'ended') {
        outcome = () =>
          this._stop(
            'ended',
            CloseCode.SESSION_ENDED,
            model.end_reason || 'The session has ended.'
          );
      }
    } catch (error) {
      if (error instanceof SharedTermError) {
        if (error.status === 403) {
          outcome = () =>
            this._stop('removed', CloseCode.REMOVED, error.message);
        } else if (error.status === 404) {
          outcome = () =>
            this._stop(
              'failed',
              code,
              'This shared session no longer exists, or you are no longer part of it.'
            );
        } else if (error.status === 410) {
          outcome = () =>
            this._stop('ended', CloseCode.SESSION_ENDED, error.message);
        }
      }
    }
    // Someone called reconnect() or dispose() meanwhile: their socket wins.
    if (this._isDisposed || this._ws !== socketBefore) {
      return;
    }
    if (outcome !== null) {
      outcome();
    } else {
      this._retry(code, reason || 'The server cannot be reached.');
    }
  }

  private _retry(code: number | null, reason: string): void {
    const { initialDelayMs, maxDelayMs, maxAttempts } = this._backoff;
    this._attempt += 1;
    if (this._attempt > maxAttempts) {
      this._stop('failed', code, `Could not reconnect: ${reason}`);
      return;
    }
    const ceiling = Math.min(
      maxDelayMs,
      initialDelayMs * 2 ** (this._attempt - 1)
    );
    // Full jitter on the upper half: clients dropped together do not come back together.
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this._setState({
      phase: 'reconnecting',
      retryAt: Date.now() + delay,
      reason,
      code
    });
    this._setStatus('connecting');
    this._clearTimer();
    this._timer = window.setTimeout(() => {
      this._timer = null;
      this._connect();
    }, delay);
  }

  private _stop(
    phase: 'ended' | 'removed' | 'failed',
    code: number | null,
    reason: string
  ): void {
    this._clearTimer();
    this._closeSocket();
    this._setState({ phase, retryAt: null, reason, code });
    this._setStatus('disconnected');
  }

  // --- helpers ---------------------------------------------------------------------------------

  private _sendSize(): void {
    if (this._lastSize !== null && mayType(this._role)) {
      this._sendRaw(ClientFrame.setSize(this._lastSize));
    }
  }

  private _sendRaw(frame: string): boolean {
    const ws = this._ws;
    if (ws === null || !this._gotSetup || ws.readyState !== WebSocket.OPEN) {
      return false;
    }
    ws.send(frame);
    return true;
  }

  private _sendOrThrow(frame: string): void {
    if (!this._sendRaw(frame)) {
      throw new Error(
        'The shared terminal is not connected right now; try again in a moment.'
      );
    }
  }

  private _refuseInput(): void {
    const now = Date.now();
    if (now - this._lastRefusal >= 1000) {
      this._lastRefusal = now;
      this._inputRefused.emit();
    }
  }

  private _waitConnected(): Promise<void> {
    const done = new PromiseDelegate<void>();
    const onState = (_: this, state: IConnectionState): void => {
      if (state.phase === 'connected') {
        this._stateChanged.disconnect(onState);
        done.resolve();
      } else if (
        state.phase === 'ended' ||
        state.phase === 'removed' ||
        state.phase === 'failed'
      ) {
        this._stateChanged.disconnect(onState);
        done.reject(new Error(state.reason));
      }
    };
    this._stateChanged.connect(onState);
    return done.promise;
  }

  private _setState(change: Partial<IConnectionState>): void {
    const next: IConnectionState = {
      ...this._state,
      attempt: this._attempt,
      ...change
    };
    this._state = next;
    this._stateChanged.emit(next);
  }

  private _setStatus(status: TerminalAPI.ConnectionStatus): void {
    if (status !== this._status) {
      this._status = status;
      this._statusChanged.emit(status);
    }
  }

  private _setRecording(recording: IRecordingState | null): void {
    this._recording = recording;
    this._recordingChanged.emit(recording);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _closeSocket(): void {
    const ws = this._ws;
    this._ws = null;
    if (ws !== null) {
      ws.onmessage = null;
      ws.onclose = null;
      if (
        ws.readyState === WebSocket.CONNECTING ||
        ws.readyState === WebSocket.OPEN
      ) {
        ws.close();
      }
    }
  }

  private _client: SharedTermClient;
  private _probe: boolean;
  private _backoff: SharedTerminalConnection.IBackoff;
  private _ws: WebSocket | null = null;
  private _timer: number | null = null;
  private _attempt = 0;
  private _gotSetup = false;
  private _disconnectFrame: { code: number; reason: string } | null = null;
  private _setup: ISetup | null = null;
  private _role: Role | null = null;
  private _lastSize: ReadonlyArray<unknown> | null = null;
  private _lastRefusal = 0;
  private _recording: IRecordingState | null = null;
  private _isDisposed = false;
  private _status: TerminalAPI.ConnectionStatus = 'connecting';
  private _state: IConnectionState = {
    phase: 'connecting',
    attempt: 0,
    retryAt: null,
    reason: '',
    code: null
  };
  private _messageReceived = new Signal<this, TerminalAPI.IMessage>(this);
  private _statusChanged = new Signal<this, TerminalAPI.ConnectionStatus>(this);
  private _stateChanged = new Signal<this, IConnectionState>(this);
  private _setupReceived = new Signal<this, ISetup>(this);
  private _roleChanged = new Signal<this, Role>(this);
  private _ctlReceived = new Signal<this, ServerCtl>(this);
  private _inputRefused = new Signal<this, void>(this);
  private _recordingChanged = new Signal<this, IRecordingState | null>(this);
  private _disposed = new Signal<this, void>(this);
}

export namespace SharedTerminalConnection {
  /** Reconnect policy. */
  export interface IBackoff {
    /** First retry after about this long (ms); each next one waits twice as long... */
    initialDelayMs: number;
    /** ...up to this (ms). */
    maxDelayMs: number;
    /** Then give up (the person can still press Retry). */
    maxAttempts: number;
  }

  /** 0.5, 1, 2, 4, 8, 15, 15... s: about two and a half minutes before giving up. */
  export const DEFAULT_BACKOFF: IBackoff = {
    initialDelayMs: 500,
    maxDelayMs: 15000,
    maxAttempts: 14
  };

  export interface IOptions {
    sessionId: string;
    client: SharedTermClient;
    /**
     * Ask the REST API why a socket was refused before it opened (default true). Guests have
     * no REST access: without it, a refused socket is retried until the backoff gives up.
     */
    probe?: boolean;
    backoff?: Partial<IBackoff>;
  }
}

namespace Private {
  /** Why a socket that was working closed, in words. */
  export function closeReason(code: number): string {
    switch (code) {
      case CloseCode.TOO_SLOW:
        return 'The connection was too slow to keep up.';
      case CloseCode.FLOODING:
        return 'Too many messages were sent.';
      case CloseCode.MESSAGE_TOO_BIG:
        return 'A message was too large.';
      case CloseCode.INTERNAL_ERROR:
        return 'The server had an internal error.';
      default:
        return 'The connection to the server was lost.';
    }
  }
}
