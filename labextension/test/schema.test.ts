/**
 * protocol.ts against the JSON Schema the Python protocol package generates
 * (jupyter_sharedterm/protocol/schema.json): every message type on both sides, and every shape
 * the TypeScript decoder accepts or the encoders produce, validated by ajv.
 */
import Ajv2020 from 'ajv/dist/2020';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import {
  ClientFrame,
  CloseCode,
  decodeServerFrame,
  MAX_QUESTION_CHARS,
  ROLES,
  SERVER_CTL_TYPES,
  SERVER_FRAME_KINDS
} from '../src/protocol';

const SCHEMA_PATH =
  process.env.SHAREDTERM_SCHEMA ??
  new URL('../../jupyter_sharedterm/protocol/schema.json', import.meta.url)
    .pathname;

interface IProtocolSchema {
  'x-server-frames': Record<string, string>;
  'x-server-ctl': Record<string, string>;
  'x-client-frames': Record<string, string>;
  'x-client-ctl': Record<string, string>;
  'x-close-codes': Record<string, number>;
  'x-limits': Record<string, number>;
  $defs: Record<string, { enum?: unknown[] }>;
}

const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as IProtocolSchema;
// `discriminator` and the `x-` indexes are annotations for readers; ajv checks the rest.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(schema, 'protocol');

/** Whether `value` is an instance of `$defs[name]`; the errors say why not. */
function check(name: string, value: unknown): string {
  const validate = ajv.getSchema(`protocol#/$defs/${name}`);
  if (validate === undefined) {
    return `no $defs/${name} in the schema`;
  }
  return validate(value) ? '' : ajv.errorsText(validate.errors);
}

const PARTICIPANT = {
  id: 'p1',
  name: 'Vera',
  role: 'coworker',
  kind: 'guest',
  connected: true
};

/** One frame of every `ctl` type the server sends, as the server writes it. */
const SERVER_CTL_EXAMPLES: Record<string, Record<string, unknown>> = {
  roster: { type: 'roster', participants: [PARTICIPANT], driver: 'p1' },
  role: { type: 'role', role: 'viewer' },
  typing: { type: 'typing', participant: 'p1' },
  question: {
    type: 'question',
    id: 'q1',
    from: 'p1',
    name: 'Vera',
    text: 'Which interface is down?',
    at: 1733300000.5,
    answered: false
  },
  question_answered: { type: 'question_answered', id: 'q1', by: 'p2' },
  notice: {
    type: 'notice',
    code: 'owner_away',
    message: 'No owner is connected.'
  },
  error: {
    type: 'error',
    code: 'forbidden',
    message: 'Viewers cannot type.'
  },
  recording: {
    type: 'recording',
    id: 'r1',
    state: 'paused',
    message: 'recording paused by Alice'
  }
};

const SETUP = {
  participant: 'p1',
  role: 'coworker',
  name: 'Vera',
  session: 's1',
  title: 'Shared shell',
  transport: 'local',
  recording: null,
  protocol: 1
};

/** One frame of every kind the server sends. */
const SERVER_FRAME_EXAMPLES: Record<string, unknown[]> = {
  setup: ['setup', SETUP],
  stdout: ['stdout', '$ ls\r\n'],
  disconnect: ['disconnect', 4000, 'Alice ended the session.'],
  ctl: ['ctl', SERVER_CTL_EXAMPLES.roster]
};

/** Every encoder of `ClientFrame`, called with typical arguments. */
const CLIENT_ENCODINGS: Record<string, () => string> = {
  stdin: () => ClientFrame.stdin('ls\r'),
  setSize: () => ClientFrame.setSize([24, 80, 480, 960]),
  question: () => ClientFrame.question('Which interface is down?'),
  answerQuestion: () => ClientFrame.answerQuestion('q1'),
  setRecording: () => ClientFrame.setRecording(true)
};

const sorted = (items: Iterable<string>): string[] => [...items].sort();

describe('server frames', () => {
  it('are the same set of kinds and ctl types here and in the schema', () => {
    expect(sorted(SERVER_FRAME_KINDS)).toEqual(
      sorted(Object.keys(schema['x-server-frames']))
    );
    expect(sorted(SERVER_CTL_TYPES)).toEqual(
      sorted(Object.keys(schema['x-server-ctl']))
    );
    // The examples below cover the schema: a new server type needs one (and a decoder).
    expect(sorted(Object.keys(SERVER_FRAME_EXAMPLES))).toEqual(
      sorted(Object.keys(schema['x-server-frames']))
    );
    expect(sorted(Object.keys(SERVER_CTL_EXAMPLES))).toEqual(
      sorted(Object.keys(schema['x-server-ctl']))
    );
  });

  it.each(Object.entries(SERVER_FRAME_EXAMPLES))(
    'decodes a valid %s frame into a shape the schema accepts',
    (kind, frame) => {
      expect(check('ServerFrame', frame)).toBe('');
      const decoded = decodeServerFrame(JSON.stringify(frame));
      expect(decoded?.kind).toBe(kind);
      switch (decoded?.kind) {
        case 'setup':
          expect(check('Setup', decoded.setup)).toBe('');
          break;
        case 'stdout':
          expect(check('StdoutFrame', ['stdout', decoded.text])).toBe('');
          break;
        case 'disconnect':
          expect(
            check('DisconnectFrame', [
              'disconnect',
              decoded.code,
              decoded.reason
            ])
          ).toBe('');
          break;
        default:
          break;
      }
    }
  );

  it.each(Object.entries(SERVER_CTL_EXAMPLES))(
    'decodes a valid %s ctl into a shape the schema accepts',
    (type, body) => {
      const name = schema['x-server-ctl'][type]!;
      expect(check(name, body)).toBe('');
      const decoded = decodeServerFrame(JSON.stringify(['ctl', body]));
      expect(decoded?.kind).toBe('ctl');
      if (decoded?.kind === 'ctl') {
        expect(decoded.ctl.type).toBe(type);
        expect(check(name, decoded.ctl)).toBe('');
      }
    }
  );

  it('accepts as setup only what the schema accepts (the fields it checks)', () => {
    for (const broken of [
      { ...SETUP, role: 'root' },
      { ...SETUP, participant: 7 },
      { ...SETUP, session: undefined }
    ]) {
      expect(check('Setup', broken)).not.toBe('');
      expect(decodeServerFrame(JSON.stringify(['setup', broken]))).toBeNull();
    }
  });
});

describe('client frames', () => {
  it('has an example for every encoder', () => {
    expect(sorted(Object.keys(ClientFrame))).toEqual(
      sorted(Object.keys(CLIENT_ENCODINGS))
    );
  });

  it.each(Object.entries(CLIENT_ENCODINGS))(
    '%s encodes a frame the schema accepts',
    (_, encode) => {
      expect(check('ClientFrame', JSON.parse(encode()))).toBe('');
    }
  );

  it('can send every client frame kind and ctl type of the schema, and no other', () => {
    const frames = Object.values(CLIENT_ENCODINGS).map(
      encode => JSON.parse(encode()) as [string, { type?: string }]
    );
    expect(sorted(new Set(frames.map(f => f[0])))).toEqual(
      sorted(Object.keys(schema['x-client-frames']))
    );
    expect(
      sorted(frames.filter(f => f[0] === 'ctl').map(f => f[1].type!))
    ).toEqual(sorted(Object.keys(schema['x-client-ctl'])));
  });
});

describe('numbers and names', () => {
  it('has the same close codes', () => {
    expect({ ...CloseCode }).toEqual(schema['x-close-codes']);
  });

  it('has the same roles and question limit', () => {
    expect(sorted(ROLES)).toEqual(sorted(schema.$defs.Role!.enum as string[]));
    expect(MAX_QUESTION_CHARS).toBe(schema['x-limits'].MAX_QUESTION_CHARS);
  });
});
