/**
 * The REST client: one method per route of `docs/protocol.md`, errors carrying the server's
 * own message.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  ICreateSessionRequest,
  IDeviceInventory,
  IDeviceSessionRequest,
  IInvite,
  IJoinReply,
  InviteRole,
  IParticipant,
  IRecordingState,
  ISessionModel,
  LoginReply,
  LoginStep,
  Role,
  Routes
} from './protocol';

/** A refused request: `status` is the HTTP status, `message` the server's `{"message"}`. */
export class SharedTermError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'SharedTermError';
  }
}

/**
 * Where a device session stands after `POST sessions` or `POST logins/LID`: open (201), or a
 * login step that waits for its owner (202).
 */
export type DeviceOutcome =
  | { kind: 'session'; model: ISessionModel }
  | { kind: 'login'; step: LoginStep };

/** Talks to the server extension's REST routes as the signed-in user. */
export class SharedTermClient {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** Sessions the user takes part in. */
  listSessions(): Promise<ISessionModel[]> {
    return this._request<ISessionModel[]>('GET', [Routes.sessions]);
  }

  /** Share an open JupyterLab terminal, or start a new shared shell; the caller owns it. */
  createSession(body: ICreateSessionRequest): Promise<ISessionModel> {
    return this._request<ISessionModel>('POST', [Routes.sessions], body);
  }

  getSession(sid: string): Promise<ISessionModel> {
    return this._request<ISessionModel>('GET', [Routes.sessions, sid]);
  }

  /** End the session for everyone (owners). */
  async endSession(sid: string): Promise<void> {
    await this._request<null>('DELETE', [Routes.sessions, sid]);
  }

  setRole(sid: string, pid: string, role: Role): Promise<IParticipant> {
    return this._request<IParticipant>(
      'PATCH',
      [Routes.sessions, sid, 'participants', pid],
      { role }
    );
  }

  async removeParticipant(sid: string, pid: string): Promise<void> {
    await this._request<null>('DELETE', [
      Routes.sessions,
      sid,
      'participants',
      pid
    ]);
  }

  /** A new invite; its `url` (with the secret) is only in this answer. */
  createInvite(sid: string, role: InviteRole): Promise<IInvite> {
    return this._request<IInvite>('POST', [Routes.sessions, sid, 'invites'], {
      role
    });
  }

  listInvites(sid: string): Promise<IInvite[]> {
    return this._request<IInvite[]>('GET', [Routes.sessions, sid, 'invites']);
  }

  async revokeInvite(sid: string, iid: string): Promise<void> {
    await this._request<null>('DELETE', [Routes.sessions, sid, 'invites', iid]);
  }

  /**
   * Redeem an invite: a signed-in user joins as themselves; anyone else (the guest page)
   * joins as a guest called `name` and gets the guest cookie.
   */
  join(invite: string, secret: string, name?: string): Promise<IJoinReply> {
    return this._request<IJoinReply>(
      'POST',
      [Routes.join, invite],
      name === undefined ? { secret } : { secret, name }
    );
  }

  /** Pause or resume the session's recording (owners); everyone is told by a ctl frame. */
  setRecordingPaused(
    sid: string,
    paused: boolean
  ): Promise<IRecordingState | null> {
    return this._request<IRecordingState | null>(
      'PUT',
      [Routes.sessions, sid, 'recording'],
      { paused }
    );
  }

  /** The configured SSH devices, and whether other hosts may be named. */
  listDevices(): Promise<IDeviceInventory> {
    return this._request<IDeviceInventory>('GET', [Routes.devices]);
  }

  /** Start connecting to a device; the caller will own the session. */
  async startDeviceSession(
    body: IDeviceSessionRequest
  ): Promise<DeviceOutcome> {
    return deviceOutcome(await this._send('POST', [Routes.sessions], body));
  }

  /** The step a login of yours waits on. */
  getLogin(lid: string): Promise<LoginStep> {
    return this._request<LoginStep>('GET', [Routes.logins, lid]);
  }

  /**
   * Continue a login: confirm the fingerprint shown, or answer the prompts. The answers go
   * into this one request body and are kept nowhere else.
   */
  async continueLogin(lid: string, reply: LoginReply): Promise<DeviceOutcome> {
    return deviceOutcome(await this._send('POST', [Routes.logins, lid], reply));
  }

  /** Abandon a login; its connection is closed. */
  async cancelLogin(lid: string): Promise<void> {
    await this._request<null>('DELETE', [Routes.logins, lid]);
  }

  private async _request<T>(
    method: string,
    parts: string[],
    body?: unknown
  ): Promise<T> {
    return (await this._send(method, parts, body)).body as T;
  }

  /** One request; the status and parsed body of a success, else a SharedTermError. */
  private async _send(
    method: string,
    parts: string[],
    body?: unknown
  ): Promise<{ status: number; body: unknown }> {
    const settings = this.serverSettings;
    const url = URLExt.join(
      settings.baseUrl,
      ...parts.map((part, i) => (i === 0 ? part : encodeURIComponent(part)))
    );
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, settings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!response.ok) {
      throw new SharedTermError(
        response.status,
        errorMessage(response, parsed)
      );
    }
    return { status: response.status, body: parsed };
  }
}

function deviceOutcome(reply: {
  status: number;
  body: unknown;
}): DeviceOutcome {
  return reply.status === 202
    ? { kind: 'login', step: reply.body as LoginStep }
    : { kind: 'session', model: reply.body as ISessionModel };
}

function errorMessage(response: Response, body: unknown): string {
  if (
    body !== null &&
    typeof body === 'object' &&
    typeof (body as { message?: unknown }).message === 'string' &&
    (body as { message: string }).message
  ) {
    return (body as { message: string }).message;
  }
  return `${response.status} ${response.statusText}`.trim();
}

/** A person-readable message for any error thrown by the client. */
export function describeError(error: unknown): string {
  if (error instanceof ServerConnection.NetworkError) {
    return 'The server cannot be reached. Check your connection and try again.';
  }
  return error instanceof Error ? error.message : String(error);
}
