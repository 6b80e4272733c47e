/**
 * SharedSession: one page's live view of one shared session. Everything the server says (REST
 * answers, `setup` and `ctl` frames, the socket's state) goes through `mergeSessionState` into
 * one state, announced by `stateChanged`; typing is the one thing kept apart, as it fades.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { SharedTermClient } from './client';
import { SharedTerminalConnection } from './connection';
import {
  IInvite,
  InviteRole,
  IRecordingState,
  ISessionModel,
  Role,
  ServerCtl
} from './protocol';
import {
  initialSessionState,
  ISessionState,
  mergeSessionState,
  nameOf,
  SessionEvent,
  wantsRefresh
} from './state';
import type { ISharedSession } from './tokens';

/** How long "X is typing…" stays after the last typing event (ms). */
export const TYPING_SHOWN_MS = 1500;

/** Debounce of REST refreshes after roster and role frames (ms). */
const REFRESH_DELAY_MS = 100;

/** One page's view of one shared session. */
export class SharedSession implements ISharedSession {
  constructor(options: SharedSession.IOptions) {
    this.id = options.sessionId;
    this.client = options.client;
    this._rest = !options.guest;
    this.connection =
      options.connection ??
      new SharedTerminalConnection({
        sessionId: this.id,
        client: this.client,
        probe: this._rest
      });
    this._state = mergeSessionState(initialSessionState(this.id), {
      kind: 'connection',
      connection: this.connection.state
    });
    const connection = this.connection;
    connection.setupReceived.connect((_, setup) =>
      this._apply({ kind: 'setup', setup })
    );
    connection.ctlReceived.connect((_, ctl) => this._onCtl(ctl));
    connection.stateChanged.connect((_, state) =>
      this._apply({ kind: 'connection', connection: state })
    );
    if (options.model) {
      this._apply({ kind: 'model', model: options.model });
    }
  }

  readonly id: string;
  readonly client: SharedTermClient;
  readonly connection: SharedTerminalConnection;

  /** Everything known about the session now. */
  get state(): ISessionState {
    return this._state;
  }

  /** The state changed (anything but typing). */
  get stateChanged(): ISignal<this, ISessionState> {
    return this._stateChanged;
  }

  /** The set of people typing changed. */
  get typingChanged(): ISignal<this, void> {
    return this._typingChanged;
  }

  /** Your role changed after the first setup (a role frame, or a reconnect); `state` has it. */
  get roleChanged(): ISignal<this, Role> {
    return this._roleChanged;
  }

  /** Names of the others typing now. */
  typingNames(): string[] {
    const now = Date.now();
    const names: string[] = [];
    for (const [pid, until] of this._typing) {
      if (until > now && pid !== this._state.me) {
        names.push(this.nameOf(pid));
      }
    }
    return names;
  }

  /** Whether `pid` is typing now. */
  isTyping(pid: string): boolean {
    return (this._typing.get(pid) ?? 0) > Date.now();
  }

  /** A participant's name (a fallback when they have left). */
  nameOf(pid: string | null): string {
    return nameOf(this._state, pid);
  }

  /** Fetch the session model now (coalesced with other refreshes; never for guests). */
  refresh(): Promise<void> {
    if (!this._rest || this._isDisposed) {
      return Promise.resolve();
    }
    if (this._refreshing === null) {
      this._refreshing = new Promise<void>(resolve => {
        window.setTimeout(() => {
          this._refreshing = null;
          this.client
            .getSession(this.id)
            .then(model => {
              if (!this._isDisposed) {
                this._apply({ kind: 'model', model });
              }
            })
            .catch(() => {
              // The connection's state already explains a session that is gone.
            })
            .finally(resolve);
        }, REFRESH_DELAY_MS);
      });
    }
    return this._refreshing;
  }

  ask(text: string): void {
    this.connection.ask(text);
  }

  answerQuestion(id: string): void {
    this.connection.answerQuestion(id);
  }

  async setRole(pid: string, role: Role): Promise<void> {
    await this.client.setRole(this.id, pid, role);
    await this.refresh();
  }

  async remove(pid: string): Promise<void> {
    await this.client.removeParticipant(this.id, pid);
    await this.refresh();
  }

  async createInvite(role: InviteRole): Promise<IInvite> {
    const invite = await this.client.createInvite(this.id, role);
    void this.refresh();
    return invite;
  }

  async revokeInvite(iid: string): Promise<void> {
    await this.client.revokeInvite(this.id, iid);
    await this.refresh();
  }

  /** Pause or resume the recording (owners); the change arrives as a ctl frame. */
  async setRecordingPaused(paused: boolean): Promise<void> {
    await this.client.setRecordingPaused(this.id, paused);
  }

  /** End the session for everyone (owners). */
  async end(): Promise<void> {
    await this.client.endSession(this.id);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Closes this page's connection; the session goes on for the others. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    if (this._typingTimer !== null) {
      window.clearTimeout(this._typingTimer);
    }
    this.connection.dispose();
    Signal.clearData(this);
  }

  /** Every change of state goes through here. */
  private _apply(event: SessionEvent): void {
    const next = mergeSessionState(this._state, event);
    if (wantsRefresh(event)) {
      void this.refresh();
    }
    if (next === this._state) {
      return;
    }
    const before = this._state;
    this._state = next;
    this._stateChanged.emit(next);
    // After the state, so that a listener reading it sees the new role.
    if (before.live && next.role !== null && next.role !== before.role) {
      this._roleChanged.emit(next.role);
    }
  }

  private _onCtl(ctl: ServerCtl): void {
    if (ctl.type === 'typing') {
      this._typing.set(ctl.participant, Date.now() + TYPING_SHOWN_MS);
      this._typingChanged.emit();
      this._scheduleTypingExpiry();
      return;
    }
    this._apply({ kind: 'ctl', ctl });
  }

  private _scheduleTypingExpiry(): void {
    if (this._typingTimer !== null) {
      window.clearTimeout(this._typingTimer);
    }
    const now = Date.now();
    let next = Infinity;
    for (const [pid, until] of this._typing) {
      if (until <= now) {
        this._typing.delete(pid);
      } else {
        next = Math.min(next, until);
      }
    }
    if (next === Infinity) {
      this._typingTimer = null;
      return;
    }
    this._typingTimer = window.setTimeout(
      () => {
        this._typingTimer = null;
        this._typingChanged.emit();
        this._scheduleTypingExpiry();
      },
      next - now + 10
    );
  }

  private _rest: boolean;
  private _state: ISessionState;
  private _typing = new Map<string, number>();
  private _typingTimer: number | null = null;
  private _refreshing: Promise<void> | null = null;
  private _isDisposed = false;
  private _stateChanged = new Signal<this, ISessionState>(this);
  private _typingChanged = new Signal<this, void>(this);
  private _roleChanged = new Signal<this, Role>(this);
}

export namespace SharedSession {
  export interface IOptions {
    sessionId: string;
    client: SharedTermClient;
    /** A model already fetched (e.g. the answer of the POST that created the session). */
    model?: ISessionModel;
    connection?: SharedTerminalConnection;
    /**
     * A guest (no Jupyter identity, so no REST access): the state comes from the socket
     * alone and a refused socket is retried rather than explained.
     */
    guest?: boolean;
  }
}

/** Role names as people read them. */
export function roleLabel(role: Role | null): string {
  switch (role) {
    case 'owner':
      return 'owner';
    case 'coworker':
      return 'co-worker';
    case 'viewer':
      return 'viewer';
    default:
      return '';
  }
}

/** "X is typing…", "X, Y are typing…", or nothing. */
export function typingText(
  trans: Pick<TranslationBundle, '__'>,
  names: string[]
): string {
  if (names.length === 0) {
    return '';
  }
  if (names.length === 1) {
    return trans.__('%1 is typing…', names[0]!);
  }
  return trans.__('%1 are typing…', names.join(', '));
}

/** What the recording indicator says: a short label and a sentence of detail. */
export interface IRecordingText {
  label: string;
  detail: string;
}

/**
 * The recording state in words, or null when there is nothing to show (no recording, or it
 * stopped with the session). The server's `message` is read only for who paused or resumed
 * ("recording paused by Alice"); anything else it says is shown as it is, as text.
 */
export function recordingText(
  trans: TranslationBundle,
  recording: IRecordingState | null
): IRecordingText | null {
  if (recording === null || !recording.state) {
    return null;
  }
  const message = (recording.message ?? '').trim();
  const by = /^recording (paused|resumed) by (.+)$/i.exec(message);
  const said = message ? sentence(message) : '';
  switch (recording.state) {
    case 'recording':
      return {
        label: trans.__('Recording'),
        detail:
          by !== null && by[1]!.toLowerCase() === 'resumed'
            ? trans.__(
                'Resumed by %1. Everything shown here is recorded.',
                by[2]!
              )
            : said || trans.__('Everything shown in this terminal is recorded.')
      };
    case 'paused':
      return {
        label:
          by !== null && by[1]!.toLowerCase() === 'paused'
            ? trans.__('Recording paused by %1', by[2]!)
            : trans.__('Recording paused'),
        detail: trans.__('Nothing is recorded until an owner resumes it.')
      };
    case 'failed':
      return {
        label: trans.__('Recording failed: input paused'),
        detail:
          said ||
          trans.__(
            'The recording cannot be written, so typing is refused until it can.'
          )
      };
    case 'degraded':
      return {
        label: trans.__('Recording incomplete'),
        detail: said || trans.__('Some output could not be recorded.')
      };
    default:
      return null;
  }
}

/** "the recording cannot ..." -> "The recording cannot ....". */
function sentence(text: string): string {
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}
