/**
 * PanelModel: what the session panel's sections render: the current session's state stream
 * (and its typing), your list of shared sessions, and the panel's own moments (a link just
 * created, a recording toggle under way). Every change re-renders the sections.
 */

import { VDomModel } from '@jupyterlab/ui-components';

import { SharedTermClient, describeError } from '../client';
import { IInvite, InviteRole, ISessionModel } from '../protocol';
import { isGone, ISessionState } from '../state';
import type { ISharedSession } from '../tokens';

/** What the panel asks the application to do. */
export interface IPanelActions {
  open(sessionId: string): Promise<unknown>;
  newSession(): Promise<unknown>;
  /** Pick an SSH device and log in to it. */
  newDeviceSession(): Promise<unknown>;
  join(): Promise<unknown>;
}

/** A link just created: its secret is shown this once. */
export interface ICreatedInvite {
  role: InviteRole;
  url: string;
}

export class PanelModel extends VDomModel {
  constructor(
    readonly client: SharedTermClient,
    readonly actions: IPanelActions
  ) {
    super();
  }

  /** The session shown, or null. */
  get session(): ISharedSession | null {
    return this._session;
  }

  set session(session: ISharedSession | null) {
    if (session === this._session) {
      return;
    }
    const before = this._session;
    if (before !== null && !before.isDisposed) {
      before.stateChanged.disconnect(this._onState, this);
      before.typingChanged.disconnect(this._changed, this);
    }
    this._session = session;
    this._wasGone = false;
    this.created = null;
    if (session !== null) {
      session.stateChanged.connect(this._onState, this);
      session.typingChanged.connect(this._changed, this);
    }
    this._changed();
    void this.refreshSessions();
  }

  /** Your shared sessions, or why they could not be listed; null until first listed. */
  get sessions(): ISessionModel[] | string | null {
    return this._sessions;
  }

  /** Whether this server offers SSH devices (null until known). */
  get devicesOffered(): boolean | null {
    return this._devicesOffered;
  }

  /** The link created last for the current session (shown once). */
  created: ICreatedInvite | null = null;

  /** A pause or resume of the recording is under way. */
  recordingBusy = false;

  /** Fetch the list of your shared sessions. */
  async refreshSessions(): Promise<void> {
    try {
      this._sessions = await this.client.listSessions();
    } catch (error) {
      this._sessions = describeError(error);
    }
    this._changed();
  }

  /** Ask once whether this server offers SSH devices (the list is set at server start). */
  async checkDevices(): Promise<void> {
    if (this._devicesOffered !== null || this._checkingDevices) {
      return;
    }
    this._checkingDevices = true;
    try {
      const inventory = await this.client.listDevices();
      this._devicesOffered = inventory.devices.length > 0 || inventory.adhoc;
    } catch {
      // Asked again the next time the panel is shown.
    } finally {
      this._checkingDevices = false;
    }
    this._changed();
  }

  /** Create a link for the current session and keep its URL to show. */
  async createInvite(role: InviteRole): Promise<IInvite | null> {
    const session = this._session;
    if (session === null) {
      return null;
    }
    const invite = await session.createInvite(role);
    if (session === this._session) {
      this.created = { role, url: invite.url ?? '' };
      this._changed();
    }
    return invite;
  }

  /** Pause or resume the current session's recording. */
  async toggleRecording(): Promise<void> {
    const session = this._session;
    if (session === null || this.recordingBusy) {
      return;
    }
    this.recordingBusy = true;
    this._changed();
    try {
      await session.setRecordingPaused(
        session.state.recording?.state !== 'paused'
      );
    } finally {
      this.recordingBusy = false;
      this._changed();
    }
  }

  override dispose(): void {
    this.session = null;
    super.dispose();
  }

  private _onState(_: ISharedSession, state: ISessionState): void {
    // Once the session is over for this page, the list of sessions says so too.
    const gone = isGone(state);
    if (gone && !this._wasGone) {
      void this.refreshSessions();
    }
    this._wasGone = gone;
    this._changed();
  }

  private _changed(): void {
    this.stateChanged.emit(void 0);
  }

  private _session: ISharedSession | null = null;
  private _sessions: ISessionModel[] | string | null = null;
  private _devicesOffered: boolean | null = null;
  private _checkingDevices = false;
  private _wasGone = false;
}
