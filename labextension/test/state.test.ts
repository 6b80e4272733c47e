import { describe, expect, it } from 'vitest';

import type { IConnectionState } from '../src/connection';
import type {
  IParticipant,
  ISessionModel,
  ISetup,
  ServerCtl
} from '../src/protocol';
import {
  hasEnded,
  initialSessionState,
  isGone,
  ISessionState,
  mergeSessionState,
  nameOf,
  SessionEvent,
  wantsRefresh
} from '../src/state';

const ALICE: IParticipant = {
  id: 'pa',
  name: 'Alice',
  role: 'owner',
  kind: 'user',
  connected: true
};
const VERA: IParticipant = {
  id: 'pv',
  name: 'Vera',
  role: 'viewer',
  kind: 'guest',
  connected: true
};

function model(change: Partial<ISessionModel> = {}): ISessionModel {
  return {
    id: 's1',
    title: 'Shared shell',
    transport: 'local',
    state: 'active',
    created_at: 1,
    driver: null,
    participants: [ALICE],
    you: { participant: 'pa', role: 'owner' },
    questions: [],
    invites: [],
    recording: { id: 'r1', state: 'recording' },
    ...change
  };
}

function setup(change: Partial<ISetup> = {}): ISetup {
  return {
    participant: 'pa',
    role: 'owner',
    name: 'Alice',
    session: 's1',
    title: 'Shared shell',
    transport: 'local',
    protocol: 1,
    recording: { id: 'r1', state: 'recording' },
    ...change
  };
}

function connection(change: Partial<IConnectionState> = {}): IConnectionState {
  return {
    phase: 'connected',
    attempt: 0,
    retryAt: null,
    reason: '',
    code: null,
    ...change
  };
}

const ctl = (body: ServerCtl): SessionEvent => ({ kind: 'ctl', ctl: body });

function merge(...events: SessionEvent[]): ISessionState {
  return events.reduce(mergeSessionState, initialSessionState('s1'));
}

describe('mergeSessionState', () => {
  it('starts with nothing but the id', () => {
    const state = initialSessionState('s1');
    expect(state.title).toBe('s1');
    expect(state.role).toBeNull();
    expect(state.live).toBe(false);
    expect(state.connection.phase).toBe('connecting');
  });

  it('takes everything from a REST model before the socket says anything', () => {
    const state = merge({ kind: 'model', model: model({ driver: 'pa' }) });
    expect(state).toMatchObject({
      title: 'Shared shell',
      transport: 'local',
      me: 'pa',
      role: 'owner',
      driver: 'pa',
      participants: [ALICE],
      recording: { id: 'r1', state: 'recording' },
      session: 'active',
      live: false
    });
  });

  it('lets the socket win for your role and the recording once setup arrived', () => {
    // A REST answer fetched before a role change can arrive after the role frame.
    const state = merge(
      { kind: 'setup', setup: setup({ participant: 'pv', role: 'viewer' }) },
      ctl({ type: 'role', role: 'coworker' }),
      ctl({
        type: 'recording',
        id: 'r1',
        state: 'paused',
        message: 'recording paused by Alice'
      }),
      {
        kind: 'model',
        model: model({
          you: { participant: 'pv', role: 'viewer' },
          participants: [ALICE, VERA]
        })
      }
    );
    expect(state.role).toBe('coworker');
    expect(state.me).toBe('pv');
    expect(state.recording).toEqual({
      id: 'r1',
      state: 'paused',
      message: 'recording paused by Alice'
    });
    expect(state.participants).toEqual([ALICE, VERA]); // lists come from the newer REST answer
  });

  it('replaces the roster and the driver from a roster frame', () => {
    const state = merge(
      { kind: 'model', model: model() },
      ctl({ type: 'roster', participants: [ALICE, VERA], driver: 'pv' })
    );
    expect(state.participants).toEqual([ALICE, VERA]);
    expect(state.driver).toBe('pv');
    expect(nameOf(state, 'pv')).toBe('Vera');
    expect(nameOf(state, 'gone')).toBe('someone who left');
    expect(nameOf(state, null)).toBe('');
  });

  it('adds a question once, then marks it answered', () => {
    const question = {
      id: 'q1',
      from: 'pv',
      name: 'Vera',
      text: 'Which interface is down?',
      at: 5,
      answered: false
    };
    const asked = merge(ctl({ type: 'question', ...question }));
    expect(asked.questions).toEqual([question]);
    const again = mergeSessionState(
      asked,
      ctl({ type: 'question', ...question })
    );
    expect(again.questions).toHaveLength(1);
    const answered = mergeSessionState(
      again,
      ctl({ type: 'question_answered', id: 'q1', by: 'pa' })
    );
    expect(answered.questions).toEqual([{ ...question, answered: true }]);
    expect(asked.questions[0]!.answered).toBe(false); // states are never mutated
  });

  it('keeps the very same state for moments that change nothing', () => {
    const state = merge({ kind: 'setup', setup: setup() });
    for (const body of [
      { type: 'typing', participant: 'pa' },
      { type: 'notice', code: 'x', message: 'hello' },
      { type: 'error', code: 'forbidden', message: 'viewers cannot type' },
      { type: 'role', role: 'owner' }
    ] as ServerCtl[]) {
      expect(mergeSessionState(state, ctl(body))).toBe(state);
    }
  });

  it('says when the session ended or this page is out of it', () => {
    const live = merge(
      { kind: 'setup', setup: setup() },
      { kind: 'connection', connection: connection() }
    );
    expect(hasEnded(live) || isGone(live)).toBe(false);
    const endedOverRest = mergeSessionState(live, {
      kind: 'model',
      model: model({ state: 'ended', end_reason: 'alice ended the session' })
    });
    expect(hasEnded(endedOverRest)).toBe(true);
    expect(endedOverRest.endReason).toBe('alice ended the session');
    for (const phase of ['ended', 'removed', 'failed'] as const) {
      expect(
        isGone(
          mergeSessionState(live, {
            kind: 'connection',
            connection: connection({ phase })
          })
        )
      ).toBe(true);
    }
    const reconnecting = mergeSessionState(live, {
      kind: 'connection',
      connection: connection({ phase: 'reconnecting' })
    });
    expect(isGone(reconnecting)).toBe(false);
  });

  it('drops invites a model no longer carries (a co-owner demoted)', () => {
    const invite = {
      id: 'i1',
      role: 'viewer' as const,
      created_by: 'pa',
      created_at: 1,
      expires_at: null,
      max_uses: null,
      uses: 0,
      state: 'active' as const
    };
    const owner = merge({ kind: 'model', model: model({ invites: [invite] }) });
    expect(owner.invites).toEqual([invite]);
    const { invites: _dropped, ...withoutInvites } = model();
    expect(
      mergeSessionState(owner, { kind: 'model', model: withoutInvites }).invites
    ).toEqual([]);
  });
});

describe('wantsRefresh', () => {
  it('asks REST again after what changes REST-only fields', () => {
    expect(wantsRefresh({ kind: 'setup', setup: setup() })).toBe(true);
    expect(
      wantsRefresh(ctl({ type: 'roster', participants: [], driver: null }))
    ).toBe(true);
    expect(wantsRefresh(ctl({ type: 'role', role: 'viewer' }))).toBe(true);
    expect(
      wantsRefresh({
        kind: 'connection',
        connection: connection({ phase: 'ended' })
      })
    ).toBe(true);
  });

  it('does not after frames that carry all they change', () => {
    expect(wantsRefresh(ctl({ type: 'typing', participant: 'pa' }))).toBe(
      false
    );
    expect(wantsRefresh({ kind: 'model', model: model() })).toBe(false);
    expect(wantsRefresh({ kind: 'connection', connection: connection() })).toBe(
      false
    );
  });
});
