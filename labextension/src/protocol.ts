/**
 * The wire, mirrored from `jupyter_sharedterm/protocol.py` and `docs/protocol.md`: REST
 * models, websocket frames and close codes, with the one decoder for server frames.
 *
 * Field names are the server's, verbatim (snake_case included), so a model read here is
 * exactly what the server sent.
 */

/** The protocol version this client speaks (the `protocol` field of `setup`). */
export const PROTOCOL_VERSION = 1;

/** REST routes, relative to the server's base URL. */
export namespace Routes {
  export const sessions = 'api/sharedterm/sessions';
  export const join = 'api/sharedterm/join';
  export const devices = 'api/sharedterm/devices';
  export const logins = 'api/sharedterm/logins';
}

/** What a participant may do; the server enforces it on every frame. */
export type Role = 'owner' | 'coworker' | 'viewer';

/** Roles an invite link can grant (never owner). */
export type InviteRole = 'viewer' | 'coworker';

export const ROLES: ReadonlyArray<Role> = ['owner', 'coworker', 'viewer'];

/** Is `value` one of the three roles? */
export function isRole(value: unknown): value is Role {
  return value === 'owner' || value === 'coworker' || value === 'viewer';
}

/** May this role write to the terminal (and resize it while in control)? */
export function mayType(role: Role | null): boolean {
  return role === 'owner' || role === 'coworker';
}

/** Participant model. */
export interface IParticipant {
  id: string;
  name: string;
  role: Role;
  kind: 'user' | 'guest';
  connected: boolean;
}

/** Question model. */
export interface IQuestion {
  id: string;
  from: string;
  name: string;
  text: string;
  at: number;
  answered: boolean;
}

/** Invite model; `url` is present once, in the answer that created it. */
export interface IInvite {
  id: string;
  role: InviteRole;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  max_uses: number | null;
  uses: number;
  state: 'active' | 'expired' | 'revoked' | 'used_up';
  url?: string;
}

/**
 * What a session's recording is doing: `failed` means writes fail and input is refused until
 * they work again; `degraded` means writes fail and events are being lost.
 */
export type RecordingStateName =
  | 'recording'
  | 'paused'
  | 'failed'
  | 'degraded'
  | 'stopped';

/**
 * The recording state the server reports: `setup.recording` and the session model's
 * `recording` (`{id, state}`, or null when the server records nothing), and ctl `recording`
 * frames, which add the server's `message` ("recording paused by Alice").
 */
export interface IRecordingState {
  id?: string;
  state?: RecordingStateName;
  message?: string;
}

/** Session model, as one participant sees it. */
export interface ISessionModel {
  id: string;
  title: string;
  transport: string;
  state: 'active' | 'ended';
  created_at: number;
  driver: string | null;
  participants: IParticipant[];
  you: { participant: string; role: Role };
  questions: IQuestion[];
  end_reason?: string;
  /** Owners only. */
  invites?: IInvite[];
  recording?: IRecordingState | null;
}

/** `POST api/sharedterm/sessions` body. */
export type ICreateSessionRequest =
  | { terminal: string }
  | { transport: 'local'; cwd?: string }
  | IDeviceSessionRequest;

/** `POST api/sharedterm/sessions` for an SSH device: a configured one, or an ad-hoc host. */
export type IDeviceSessionRequest =
  | { transport: 'ssh'; device: string }
  | { transport: 'ssh'; host: string; port?: number; username: string };

/** One configured device, as `GET api/sharedterm/devices` lists it (never key paths). */
export interface IDevice {
  name: string;
  host: string;
  port: number;
  username: string;
  auth: string[];
  jump: string | null;
}

/** `GET api/sharedterm/devices`: `adhoc` says whether other hosts may be named. */
export interface IDeviceInventory {
  devices: IDevice[];
  adhoc: boolean;
}

/** One question of a device's password or keyboard-interactive step. */
export interface ILoginPrompt {
  text: string;
  /** False: a secret (a password field). */
  echo: boolean;
}

interface ILoginStepBase {
  login: string;
  /** The device's name (or `user@host` for an ad-hoc host). */
  device: string;
  /** Epoch seconds until which the login waits for a reply, or null while connecting. */
  expires_at: number | null;
}

/** The login waits for its owner to confirm an unknown host key. */
export interface IHostKeyStep extends ILoginStepBase {
  needs: 'host_key';
  fingerprint: string;
  /** The host that presented the key: a jump host when the device is reached through one. */
  target: string;
  host: string;
  port: number;
  message: string;
}

/** The login waits for answers to the device's prompts (password, keyboard-interactive). */
export interface IAnswersStep extends ILoginStepBase {
  needs: 'answers';
  kind: 'password' | 'keyboard-interactive' | 'passphrase';
  target: string;
  host: string;
  port: number;
  username: string;
  /** Chosen by the device: show as text. */
  name: string;
  /** Chosen by the device: show as text. */
  instructions: string;
  prompts: ILoginPrompt[];
  /** Password tries: 2 means the last one was refused. */
  attempt: number;
}

/** Another request is moving the login on (only in `GET` answers). */
export interface IConnectingStep extends ILoginStepBase {
  needs: 'connecting';
}

/** A device login step (`202` answers and `GET api/sharedterm/logins/LID`). */
export type LoginStep = IHostKeyStep | IAnswersStep | IConnectingStep;

/** `POST api/sharedterm/logins/LID`: confirm the fingerprint shown, or answer the prompts. */
export type LoginReply =
  | { confirm_fingerprint: string }
  | { answers: string[] };

/** `POST api/sharedterm/join/IID` answer. */
export interface IJoinReply {
  session: string;
  participant: string;
  role: Role;
}

/** The `{"message": ...}` body of every refusal. */
export interface IErrorBody {
  message: string;
}

// --- the terminal websocket --------------------------------------------------------------------

/** Websocket close codes; the `disconnect` frame carries the same number. */
export namespace CloseCode {
  export const NORMAL = 1000;
  export const MESSAGE_TOO_BIG = 1009;
  export const INTERNAL_ERROR = 1011;
  export const SESSION_ENDED = 4000;
  export const REMOVED = 4001;
  export const TOO_SLOW = 4008;
  export const FLOODING = 4029;
}

/** The first server frame: who you are in which session. */
export interface ISetup {
  participant: string;
  role: Role;
  name: string;
  session: string;
  title: string;
  transport: string;
  protocol: number;
  recording?: IRecordingState | null;
}

export interface IRosterCtl {
  type: 'roster';
  participants: IParticipant[];
  driver: string | null;
}

export interface IRoleCtl {
  type: 'role';
  role: Role;
}

export interface ITypingCtl {
  type: 'typing';
  participant: string;
}

export interface IQuestionCtl extends IQuestion {
  type: 'question';
}

export interface IQuestionAnsweredCtl {
  type: 'question_answered';
  id: string;
  by: string;
}

export interface INoticeCtl {
  type: 'notice';
  code: string;
  message: string;
}

export interface IErrorCtl {
  type: 'error';
  code: string;
  message: string;
}

export interface IRecordingCtl extends IRecordingState {
  type: 'recording';
}

/** Every `["ctl", {...}]` body the server sends. */
export type ServerCtl =
  | IRosterCtl
  | IRoleCtl
  | ITypingCtl
  | IQuestionCtl
  | IQuestionAnsweredCtl
  | INoticeCtl
  | IErrorCtl
  | IRecordingCtl;

/** A decoded server frame. */
export type ServerFrame =
  | { kind: 'setup'; setup: ISetup }
  | { kind: 'stdout'; text: string }
  | { kind: 'disconnect'; code: number; reason: string }
  | { kind: 'ctl'; ctl: ServerCtl };

/** The kinds of server frame this client reads. */
export const SERVER_FRAME_KINDS: ReadonlyArray<ServerFrame['kind']> = [
  'setup',
  'stdout',
  'disconnect',
  'ctl'
];

/** The `ctl` types this client reads; any other is ignored (a newer server's). */
export const SERVER_CTL_TYPES: ReadonlySet<ServerCtl['type']> = new Set<
  ServerCtl['type']
>([
  'roster',
  'role',
  'typing',
  'question',
  'question_answered',
  'notice',
  'error',
  'recording'
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Decode one server frame. Returns null for anything that does not follow the protocol
 * (the caller ignores it), so a newer server's extra frames never break this client.
 */
export function decodeServerFrame(raw: unknown): ServerFrame | null {
  if (typeof raw !== 'string') {
    return null;
  }
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!Array.isArray(msg) || typeof msg[0] !== 'string') {
    return null;
  }
  switch (msg[0]) {
    case 'stdout':
      return typeof msg[1] === 'string'
        ? { kind: 'stdout', text: msg[1] }
        : null;
    case 'setup': {
      const body: unknown = msg[1];
      if (
        !isObject(body) ||
        typeof body.participant !== 'string' ||
        !isRole(body.role) ||
        typeof body.session !== 'string'
      ) {
        return null;
      }
      return {
        kind: 'setup',
        setup: {
          participant: body.participant,
          role: body.role,
          name: typeof body.name === 'string' ? body.name : '',
          session: body.session,
          title: typeof body.title === 'string' ? body.title : '',
          transport: typeof body.transport === 'string' ? body.transport : '',
          protocol: typeof body.protocol === 'number' ? body.protocol : 0,
          recording: isObject(body.recording)
            ? (body.recording as IRecordingState)
            : null
        }
      };
    }
    case 'disconnect':
      return {
        kind: 'disconnect',
        code: typeof msg[1] === 'number' ? msg[1] : CloseCode.NORMAL,
        reason: typeof msg[2] === 'string' ? msg[2] : ''
      };
    case 'ctl': {
      const body: unknown = msg[1];
      if (
        !isObject(body) ||
        typeof body.type !== 'string' ||
        !SERVER_CTL_TYPES.has(body.type as ServerCtl['type'])
      ) {
        return null;
      }
      if (body.type === 'role' && !isRole(body.role)) {
        return null;
      }
      if (body.type === 'roster' && !Array.isArray(body.participants)) {
        return null;
      }
      return { kind: 'ctl', ctl: body as unknown as ServerCtl };
    }
    default:
      return null;
  }
}

/** Client frames, encoded. */
export namespace ClientFrame {
  export function stdin(text: string): string {
    return JSON.stringify(['stdin', text]);
  }

  /** Extra items after the columns (pixel sizes) are ignored by the server. */
  export function setSize(items: ReadonlyArray<unknown>): string {
    return JSON.stringify(['set_size', ...items]);
  }

  export function question(text: string): string {
    return JSON.stringify(['ctl', { type: 'question', text }]);
  }

  export function answerQuestion(id: string): string {
    return JSON.stringify(['ctl', { type: 'answer_question', id }]);
  }

  /** Owners: pause or resume the recording (the same as `PUT .../recording`). */
  export function setRecording(paused: boolean): string {
    return JSON.stringify(['ctl', { type: 'recording', paused }]);
  }
}

/** The longest question the server accepts. */
export const MAX_QUESTION_CHARS = 2000;

/** An invite link, split: `.../sharedterm/join/IID#SECRET`. */
export interface IJoinLink {
  invite: string;
  secret: string;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Read an invite link pasted by a person. Accepts the full URL the owner copied, or just
 * `IID#SECRET`. Returns null when it is not one.
 */
export function parseJoinLink(text: string): IJoinLink | null {
  const trimmed = text.trim();
  const hash = trimmed.indexOf('#');
  if (hash < 0) {
    return null;
  }
  const before = trimmed.slice(0, hash);
  const secret = trimmed.slice(hash + 1);
  if (!secret || /\s/.test(secret)) {
    return null;
  }
  let invite: string | undefined;
  if (ID_PATTERN.test(before)) {
    invite = before;
  } else {
    const match = /\/sharedterm\/join\/([^/?#]+)\/?(?:\?[^#]*)?$/.exec(before);
    invite = match?.[1];
  }
  if (!invite || !ID_PATTERN.test(invite)) {
    return null;
  }
  return { invite, secret };
}
