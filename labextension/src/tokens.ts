/**
 * The extension points of jupyter-sharedterm: tokens another plugin can `require` to build on
 * shared sessions (a Copilot panel, a call view, a widget) without patching this package.
 */

import type { IWidgetTracker } from '@jupyterlab/apputils';
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

import type { SharedTerminalConnection } from './connection';
import type { IInvite, InviteRole, Role } from './protocol';
import type { ISessionState } from './state';

/** One page's live view of one shared session: one state, authored by the server. */
export interface ISharedSession {
  /** The session id. */
  readonly id: string;

  /** Everything known about the session now; replaced (never mutated) on every change. */
  readonly state: ISessionState;

  /** Emitted with the new state whenever anything but typing changes. */
  readonly stateChanged: ISignal<ISharedSession, ISessionState>;

  /** Emitted when the set of people typing changes (see `typingNames`, `isTyping`). */
  readonly typingChanged: ISignal<ISharedSession, void>;

  /** Emitted when your own role changes while connected. */
  readonly roleChanged: ISignal<ISharedSession, Role>;

  /** The terminal socket: output, input, `ctl` frames as they arrive. */
  readonly connection: SharedTerminalConnection;

  /** Names of the others typing now. */
  typingNames(): string[];

  /** Whether `pid` is typing now. */
  isTyping(pid: string): boolean;

  /** A participant's name (a fallback when they have left). */
  nameOf(pid: string | null): string;

  /** Fetch the session's REST model again (coalesced; never for guests). */
  refresh(): Promise<void>;

  /** Ask the people at the keyboard a question. Throws while not connected. */
  ask(text: string): void;

  /** Mark a question answered (owners and co-workers). Throws while not connected. */
  answerQuestion(id: string): void;

  /** Owners: change a participant's role. */
  setRole(pid: string, role: Role): Promise<void>;

  /** Owners: remove a participant for good. */
  remove(pid: string): Promise<void>;

  /** Owners: a new invite link; its `url` (with the secret) is only in this answer. */
  createInvite(role: InviteRole): Promise<IInvite>;

  /** Owners: revoke an invite link. */
  revokeInvite(iid: string): Promise<void>;

  /** Owners: pause or resume the recording. */
  setRecordingPaused(paused: boolean): Promise<void>;

  /** Owners: end the session for everyone. */
  end(): Promise<void>;

  readonly isDisposed: boolean;
}

/** A main-area tab showing one shared session's terminal. */
export interface ISharedTerminalWidget extends Widget {
  readonly session: ISharedSession;
}

/** The shared terminal tabs open on this page. */
export interface ISharedSessionTracker
  extends IWidgetTracker<ISharedTerminalWidget> {}

/** The tracker of shared terminal tabs. */
export const ISharedSessionTracker = new Token<ISharedSessionTracker>(
  'jupyter-sharedterm:ISharedSessionTracker',
  'The shared terminal tabs open on this page.'
);

/** The shared session the user works with now: the one the session panel follows. */
export interface ICurrentSharedSession {
  /** The session, or null when no shared terminal is open. */
  readonly session: ISharedSession | null;

  /** Emitted when another session (or none) becomes current. */
  readonly sessionChanged: ISignal<
    ICurrentSharedSession,
    ISharedSession | null
  >;
}

/** The current shared session, with its state stream. */
export const ICurrentSharedSession = new Token<ICurrentSharedSession>(
  'jupyter-sharedterm:ICurrentSharedSession',
  'The shared session the user works with now, and its live state.'
);
