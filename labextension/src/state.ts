/**
 * The one state stream of a shared session: what the server said (REST answers, `setup` and
 * `ctl` frames, and how the socket stands) merged by one pure function, `mergeSessionState`.
 *
 * No DOM, no timers, no JupyterLab: the guest page, the JupyterLab panel and the unit tests use
 * the same merge.
 */

import type { IConnectionState } from './connection';
import {
  IInvite,
  IParticipant,
  IQuestion,
  IRecordingState,
  ISessionModel,
  ISetup,
  Role,
  ServerCtl
} from './protocol';

/** Everything a page shows about one shared session. */
export interface ISessionState {
  readonly id: string;
  /** The session's title, or its id before the server named it. */
  readonly title: string;
  /** `local` or `ssh`; empty until the server said. */
  readonly transport: string;
  /** Whether a `setup` frame was received: the live fields (role, recording) then win. */
  readonly live: boolean;
  /** Your participant id. */
  readonly me: string | null;
  /** Your role: the live one once connected, else the last REST answer's. */
  readonly role: Role | null;
  readonly participants: ReadonlyArray<IParticipant>;
  /** Who is in control (typed last), or null. */
  readonly driver: string | null;
  readonly questions: ReadonlyArray<IQuestion>;
  /** Owners only; empty otherwise. */
  readonly invites: ReadonlyArray<IInvite>;
  /** Null when the server records nothing. */
  readonly recording: IRecordingState | null;
  /** The session itself, as the last REST answer said. */
  readonly session: 'active' | 'ended';
  readonly endReason: string;
  /** This page's socket. */
  readonly connection: IConnectionState;
}

/** Something the server said about the session. */
export type SessionEvent =
  /** A REST answer: the whole model as the server sees it now. */
  | { kind: 'model'; model: ISessionModel }
  /** The first frame of every socket. */
  | { kind: 'setup'; setup: ISetup }
  | { kind: 'ctl'; ctl: ServerCtl }
  /** The socket changed state (connected, reconnecting, ended, ...). */
  | { kind: 'connection'; connection: IConnectionState };

/** The state of a session nothing is known about yet. */
export function initialSessionState(id: string): ISessionState {
  return {
    id,
    title: id,
    transport: '',
    live: false,
    me: null,
    role: null,
    participants: [],
    driver: null,
    questions: [],
    invites: [],
    recording: null,
    session: 'active',
    endReason: '',
    connection: {
      phase: 'connecting',
      attempt: 0,
      retryAt: null,
      reason: '',
      code: null
    }
  };
}

/**
 * Merge one event into the state; returns `state` itself when nothing changed.
 *
 * A REST model replaces the lists it carries (it was fetched after the frames that prompted
 * it, so it is at least as new). Your role and the recording state come from the socket once
 * it sent `setup`, since frames arrive in order and a REST answer may be older than the last
 * frame; before that the REST answer is all there is.
 */
export function mergeSessionState(
  state: ISessionState,
  event: SessionEvent
): ISessionState {
  switch (event.kind) {
    case 'model': {
      const model = event.model;
      return {
        ...state,
        title: model.title || state.title,
        transport: model.transport || state.transport,
        me: state.live ? state.me : model.you.participant,
        role: state.live ? state.role : model.you.role,
        participants: model.participants,
        driver: model.driver,
        questions: model.questions,
        invites: model.invites ?? [],
        recording: state.live ? state.recording : (model.recording ?? null),
        session: model.state,
        endReason: model.end_reason ?? state.endReason
      };
    }
    case 'setup': {
      const setup = event.setup;
      return {
        ...state,
        title: setup.title || state.title,
        transport: setup.transport || state.transport,
        live: true,
        me: setup.participant,
        role: setup.role,
        recording: setup.recording ?? null
      };
    }
    case 'connection':
      return event.connection === state.connection
        ? state
        : { ...state, connection: event.connection };
    case 'ctl':
      return mergeCtl(state, event.ctl);
  }
}

function mergeCtl(state: ISessionState, ctl: ServerCtl): ISessionState {
  switch (ctl.type) {
    case 'roster':
      return { ...state, participants: ctl.participants, driver: ctl.driver };
    case 'role':
      return ctl.role === state.role ? state : { ...state, role: ctl.role };
    case 'question': {
      const { type: _type, ...question } = ctl;
      return {
        ...state,
        questions: [
          ...state.questions.filter(q => q.id !== question.id),
          question
        ]
      };
    }
    case 'question_answered':
      return {
        ...state,
        questions: state.questions.map(q =>
          q.id === ctl.id ? { ...q, answered: true } : q
        )
      };
    case 'recording':
      return {
        ...state,
        recording: { id: ctl.id, state: ctl.state, message: ctl.message }
      };
    default:
      // typing, notice, error: moments, not state.
      return state;
  }
}

/** Whether the session ended (the server said so, over the socket or REST). */
export function hasEnded(state: ISessionState): boolean {
  return state.connection.phase === 'ended' || state.session === 'ended';
}

/** Whether this page is out of the session for good: ended, removed, or given up. */
export function isGone(state: ISessionState): boolean {
  const phase = state.connection.phase;
  return hasEnded(state) || phase === 'removed' || phase === 'failed';
}

/** A participant's name (a fallback when they have left). */
export function nameOf(state: ISessionState, pid: string | null): string {
  if (pid === null) {
    return '';
  }
  return state.participants.find(p => p.id === pid)?.name ?? 'someone who left';
}

/**
 * Whether an event may have changed what only REST tells (invites, their use counts, the
 * session's end reason), so a page should fetch the model again.
 */
export function wantsRefresh(event: SessionEvent): boolean {
  switch (event.kind) {
    case 'setup':
      return true;
    case 'ctl':
      return event.ctl.type === 'roster' || event.ctl.type === 'role';
    case 'connection':
      return event.connection.phase === 'ended';
    default:
      return false;
  }
}
