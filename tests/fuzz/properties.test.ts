// Risk retired: an input nobody thought of (not in the corpus) makes the PPNS envelope or payload
// parser, the messageUri check or the NCTS parser throw, hang, accept something unsafe, or hand
// the database a value it refuses. Property-based: fast-check generates and shrinks the inputs;
// every property is bounded (numRuns) so the file runs in seconds.
import { readdirSync, readFileSync } from 'node:fs';
import { parseNctsMessage } from '@ctc-hub/ncts';
import {
  parseCtcPayload,
  parseEnvelope,
  parseMessageUri,
  signPayload,
  validateEnvelope,
} from '@ctc-hub/ppns';
import { fixturePath } from '@ctc-hub/testing';
import fc from 'fast-check';
import { envelopeObject } from './corpus/receiver.js';

const runs = (numRuns: number) => ({ numRuns, seed: seedFromEnv() });

/** FUZZ_SEED=<n> replays a run; fast-check prints the seed of a failing one. */
function seedFromEnv(): number | undefined {
  const seed = Number(process.env.FUZZ_SEED);
  return Number.isInteger(seed) ? seed : undefined;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const examples = readdirSync(fixturePath('ncts/examples/phase5'))
  .filter((name) => name.endsWith('.xml'))
  .map((name) => readFileSync(fixturePath(`ncts/examples/phase5/${name}`), 'utf8'));

/** A valid envelope's fields with some replaced by arbitrary JSON values or removed. */
const mutatedEnvelope = fc
  .record({
    drop: fc.subarray([
      'notificationId',
      'boxId',
      'messageContentType',
      'message',
      'status',
      'createdDateTime',
    ]),
    replace: fc.dictionary(
      fc.constantFrom(
        'notificationId',
        'boxId',
        'messageContentType',
        'message',
        'status',
        'createdDateTime',
        '__proto__',
        'extra',
      ),
      fc.jsonValue(),
    ),
  })
  .map(({ drop, replace }) => {
    const fields: Record<string, unknown> = { ...replace };
    for (const key of drop) fields[key] = undefined;
    return JSON.stringify(envelopeObject(fields));
  });

/** Slices of text cut, duplicated or spliced: truncation and corruption of a valid document. */
function mutated(text: string) {
  return fc
    .array(
      fc.record({
        at: fc.nat(),
        remove: fc.nat({ max: 40 }),
        insert: fc.oneof(
          fc.constantFrom(
            '<',
            '>',
            '</',
            '/>',
            '&',
            '&amp;',
            '&#0;',
            '&#x1F600;',
            '<!DOCTYPE x>',
            '<!ENTITY e "x">',
            '<![CDATA[',
            ']]>',
            '<!--',
            '-->',
            '<?xml version="1.0"?>',
            '"',
            "'",
            '\u0000',
            '\uFFFE',
            '\uD800',
            'xmlns:ncts="http://evil"',
          ),
          fc.string({ maxLength: 20 }),
        ),
      }),
      { minLength: 1, maxLength: 6 },
    )
    .map((edits) => {
      let result = text;
      for (const { at, remove, insert } of edits) {
        const position = at % (result.length + 1);
        result = result.slice(0, position) + insert + result.slice(position + remove);
      }
      return result;
    });
}

describe('PPNS envelope parser', () => {
  it('never throws on arbitrary text, and accepts only envelopes with every field valid', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.json(), mutatedEnvelope, fc.string({ unit: 'binary' })),
        (text) => {
          const result = parseEnvelope(text);
          if (result.ok) {
            const { envelope } = result;
            expect(envelope.notificationId).toMatch(uuidPattern);
            expect(envelope.boxId).toMatch(uuidPattern);
            expect(['PENDING', 'ACKNOWLEDGED', 'FAILED']).toContain(envelope.status);
            expect(Number.isNaN(envelope.createdAt.getTime())).toBe(false);
            expect(
              typeof envelope.message === 'string'
                ? envelope.message.length > 0
                : typeof envelope.message === 'object',
            ).toBe(true);
          } else {
            expect(['INVALID_JSON', 'INVALID_ENVELOPE']).toContain(result.error.code);
            expect(typeof result.error.message).toBe('string');
            // Answered to the sender as JSON: must serialise, and must not echo a huge input.
            expect(JSON.stringify(result.error).length).toBeLessThan(2000);
          }
        },
      ),
      runs(500),
    );
  });

  it('never throws on arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(typeof validateEnvelope(value).ok).toBe('boolean');
      }),
      runs(300),
    );
  });

  it('never throws on bytes (Buffer input)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(typeof parseEnvelope(Buffer.from(bytes)).ok).toBe('boolean');
      }),
      runs(200),
    );
  });
});

// Every character a hostile URI could use to leave the path: separators, encodings, schemes,
// authority and IPv6 punctuation, whitespace and control characters.
const uriCharacter = fc.constantFrom(
  ...'/\\.%:@?#[]! \t\n\u0000abcdefxyz0123456789ABCDEF-_~'.split(''),
  'http://',
  '//',
  '..',
  '%2e',
  '%2f',
  '169.254.169.254',
  '[::1]',
  '/customs/transits/movements/',
  'departures/',
  'arrivals/',
  '/messages/',
);
const uriLike = fc
  .array(uriCharacter, { maxLength: 30 })
  .map((parts) => parts.join(''))
  .chain((tail) =>
    fc.constantFrom(tail, `/customs/transits/movements/departures/${tail}`, `/customs/${tail}`),
  );

describe('messageUri check (SSRF)', () => {
  it('accepts only paths that resolve, unchanged, under the HMRC base URL', () => {
    const base = 'https://api.service.hmrc.gov.uk';
    fc.assert(
      fc.property(fc.oneof(uriLike, fc.string()), (uri) => {
        const parts = parseMessageUri(uri);
        if (parts === undefined) return;
        const resolved = new URL(uri, base);
        expect(resolved.origin).toBe(base);
        // No normalisation (.., encoded separators) changes the path a fetch would use.
        expect(resolved.pathname).toBe(uri);
        expect(resolved.search).toBe('');
        expect(uri.startsWith(`${parts.movementPath}/messages/`)).toBe(true);
      }),
      runs(500),
    );
  });

  it('never throws on non-string values', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(parseMessageUri(value)).toBeUndefined();
      }),
      { ...runs(200), examples: [[42], [null], [{ toString: () => '/customs' }]] },
    );
  });
});

describe('CTC payload parser', () => {
  const payload = fc.record(
    {
      messageUri: fc.oneof(
        uriLike,
        fc.constant(
          '/customs/transits/movements/departures/0123456789abcdef/messages/fedcba9876543210',
        ),
      ),
      notificationType: fc.oneof(
        fc.constantFrom('MESSAGE_RECEIVED', 'SUBMISSION_NOTIFICATION'),
        fc.jsonValue(),
      ),
      messageId: fc.oneof(fc.constant('fedcba9876543210'), fc.jsonValue()),
      departureId: fc.oneof(fc.constant('0123456789abcdef'), fc.jsonValue()),
      arrivalId: fc.jsonValue(),
      enrollmentEORINumber: fc.jsonValue(),
      messageType: fc.jsonValue(),
      messageBody: fc.jsonValue(),
      response: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );

  it('never throws, and every accepted payload has a safe messageUri', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          payload.map((value) => JSON.stringify(value)),
          payload as fc.Arbitrary<Record<string, unknown>>,
          fc.string(),
          fc.json(),
        ),
        (message) => {
          const result = parseCtcPayload(message);
          if (!result.ok) {
            expect(['UNKNOWN_PAYLOAD', 'INVALID_PAYLOAD', 'UNSAFE_MESSAGE_URI']).toContain(
              result.error.code,
            );
            return;
          }
          expect(parseMessageUri(result.payload.messageUri)).toBeDefined();
          expect(result.payload.messageUri.startsWith(result.payload.movementPath)).toBe(true);
        },
      ),
      runs(500),
    );
  });
});

describe('NCTS parser', () => {
  const codes = [
    'EMPTY',
    'TOO_LARGE',
    'DOCTYPE_FORBIDDEN',
    'TOO_DEEP',
    'NOT_WELL_FORMED',
    'NOT_NCTS',
  ];

  /** What must hold of any result: a known error, or a summary the database accepts. */
  function checkResult(result: ReturnType<typeof parseNctsMessage>): void {
    if (!result.ok) {
      expect(codes).toContain(result.error.code);
      expect(result.error.message.length).toBeLessThan(2000);
      return;
    }
    // Stored as jsonb: PostgreSQL refuses \u0000 and lone surrogates in it.
    const json = JSON.stringify(result.summary);
    expect(json).not.toMatch(/\\u0000/);
    expect(json).not.toMatch(/\\ud[89a-f][0-9a-f]{2}/i);
  }

  it('never throws on arbitrary text or bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.stringMatching(/^<[a-zA-Z:<>/!?&;#"'= \-[\]]{0,60}$/),
          fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
        ),
        (input) => checkResult(parseNctsMessage(input)),
      ),
      runs(500),
    );
  });

  it('never throws on corrupted HMRC examples, and refuses any with a DOCTYPE', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...examples).chain((text) => mutated(text)),
        fc.boolean(),
        (text, asBytes) => {
          const result = parseNctsMessage(asBytes ? Buffer.from(text, 'utf8') : text);
          checkResult(result);
        },
      ),
      runs(400),
    );
  });

  it('refuses a DOCTYPE or ENTITY declaration wherever it is placed before the root', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...examples),
        fc.constantFrom(
          '<!DOCTYPE x>',
          '<!DOCTYPE x [<!ENTITY a "b">]>',
          '<!DOCTYPE x SYSTEM "http://169.254.169.254/x.dtd">',
          '<!ENTITY a SYSTEM "file:///etc/passwd">',
          '<!doctype x>',
        ),
        fc.constantFrom('', '<?xml version="1.0"?>', '<!-- c -->', '\n'),
        (text, declaration, prefix) => {
          const result = parseNctsMessage(`${prefix}${declaration}${text}`);
          expect(result.ok).toBe(false);
          if (!result.ok)
            expect(['DOCTYPE_FORBIDDEN', 'NOT_WELL_FORMED']).toContain(result.error.code);
        },
      ),
      runs(200),
    );
  });

  it('refuses nesting deeper than the limit, at any depth, without a stack overflow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50_000 }),
        fc.constantFrom(...examples),
        (depth, text) => {
          const at = text.indexOf('>', text.indexOf('<ncts:')) + 1;
          const nested = `${text.slice(0, at)}${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}${text.slice(at)}`;
          const result = parseNctsMessage(nested, { maxDepth: 64 });
          checkResult(result);
          // The root is level 1 and the example's own elements sit beside the nest.
          if (depth + 1 > 64)
            expect(result).toMatchObject({ ok: false, error: { code: 'TOO_DEEP' } });
        },
      ),
      runs(200),
    );
  });
});

describe('signature', () => {
  it('accepts exactly the HMAC-SHA1 of the body under the secret', async () => {
    const { verifySignature } = await import('@ctc-hub/ppns');
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.oneof(
          fc.string(),
          fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 40, maxLength: 40 }),
        ),
        (bytes, secret, other) => {
          const body = Buffer.from(bytes);
          const signature = signPayload(secret, body);
          expect(verifySignature([secret], body, signature)).toBe(true);
          if (other !== signature) expect(verifySignature([secret], body, other)).toBe(false);
          expect(verifySignature(['another secret'], body, signature)).toBe(
            secret === 'another secret',
          );
        },
      ),
      runs(300),
    );
  });
});
