import { describe, expect, it } from 'vitest';

import {
  ClientFrame,
  CloseCode,
  decodeServerFrame,
  parseJoinLink
} from '../src/protocol';

const SETUP = {
  participant: 'p1',
  role: 'coworker',
  name: 'Vera',
  session: 's1',
  title: 'Shared shell',
  transport: 'local',
  protocol: 1,
  recording: { id: 'r1', state: 'recording' }
};

describe('decodeServerFrame', () => {
  it('decodes setup, stdout, disconnect and ctl frames', () => {
    expect(decodeServerFrame(JSON.stringify(['setup', SETUP]))).toEqual({
      kind: 'setup',
      setup: SETUP
    });
    expect(decodeServerFrame('["stdout", "$ ls\\r\\n"]')).toEqual({
      kind: 'stdout',
      text: '$ ls\r\n'
    });
    expect(
      decodeServerFrame('["disconnect", 4000, "alice ended the session"]')
    ).toEqual({
      kind: 'disconnect',
      code: CloseCode.SESSION_ENDED,
      reason: 'alice ended the session'
    });
    const roster = {
      type: 'roster',
      participants: [
        {
          id: 'p1',
          name: 'Vera',
          role: 'coworker',
          kind: 'guest',
          connected: true
        }
      ],
      driver: null
    };
    expect(decodeServerFrame(JSON.stringify(['ctl', roster]))).toEqual({
      kind: 'ctl',
      ctl: roster
    });
  });

  it('fills what an older server leaves out of setup', () => {
    const frame = decodeServerFrame(
      JSON.stringify([
        'setup',
        { participant: 'p1', role: 'viewer', session: 's1' }
      ])
    );
    expect(frame).toEqual({
      kind: 'setup',
      setup: {
        participant: 'p1',
        role: 'viewer',
        name: '',
        session: 's1',
        title: '',
        transport: '',
        protocol: 0,
        recording: null
      }
    });
  });

  it('reads a disconnect frame without code or reason as a normal close', () => {
    expect(decodeServerFrame('["disconnect"]')).toEqual({
      kind: 'disconnect',
      code: CloseCode.NORMAL,
      reason: ''
    });
  });

  it.each([
    ['not a string', 42],
    ['not JSON', '{"stdout'],
    ['not an array', '{"type": "stdout"}'],
    ['no kind', '[1, "x"]'],
    ['unknown kind', '["hello", {}]'],
    ['stdout without text', '["stdout", 3]'],
    ['setup without a body', '["setup"]'],
    [
      'setup with an unknown role',
      JSON.stringify(['setup', { ...SETUP, role: 'root' }])
    ],
    [
      'setup without a participant',
      JSON.stringify(['setup', { ...SETUP, participant: 1 }])
    ],
    ['ctl without a body', '["ctl"]'],
    ['ctl with an array body', '["ctl", []]'],
    ['ctl of an unknown type', '["ctl", {"type": "hello"}]'],
    [
      'role ctl with an unknown role',
      '["ctl", {"type": "role", "role": "admin"}]'
    ],
    [
      'roster ctl without participants',
      '["ctl", {"type": "roster", "driver": null}]'
    ]
  ])('ignores a frame that does not follow the protocol: %s', (_, raw) => {
    expect(decodeServerFrame(raw)).toBeNull();
  });
});

describe('ClientFrame', () => {
  it('encodes what the server decodes', () => {
    expect(JSON.parse(ClientFrame.stdin('ls\r'))).toEqual(['stdin', 'ls\r']);
    expect(JSON.parse(ClientFrame.setSize([24, 80, 600, 800]))).toEqual([
      'set_size',
      24,
      80,
      600,
      800
    ]);
    expect(JSON.parse(ClientFrame.question('why?'))).toEqual([
      'ctl',
      { type: 'question', text: 'why?' }
    ]);
    expect(JSON.parse(ClientFrame.answerQuestion('q1'))).toEqual([
      'ctl',
      { type: 'answer_question', id: 'q1' }
    ]);
  });
});

describe('parseJoinLink', () => {
  it('reads a full link, one under a base URL, and IID#SECRET', () => {
    const expected = { invite: 'abc_-1', secret: 's3cr3t' };
    expect(
      parseJoinLink('http://host:8888/sharedterm/join/abc_-1#s3cr3t')
    ).toEqual(expected);
    expect(
      parseJoinLink('  https://h/a%40b/sharedterm/join/abc_-1/#s3cr3t\n')
    ).toEqual(expected);
    expect(parseJoinLink('abc_-1#s3cr3t')).toEqual(expected);
  });

  it.each([
    'http://host/sharedterm/join/abc',
    'http://host/sharedterm/join/abc#',
    'http://host/sharedterm/join/abc#two words',
    'http://host/lab/tree#secret',
    'a/b#secret',
    `${'x'.repeat(65)}#secret`
  ])('refuses %s', text => {
    expect(parseJoinLink(text)).toBeNull();
  });
});
