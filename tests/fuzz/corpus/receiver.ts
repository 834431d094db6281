import { randomUUID } from 'node:crypto';
import { formatPpnsDateTime } from '@ctc-hub/ppns';
import { hex16, testBoxId, v2MessageReceived } from '@ctc-hub/testing';
import type { ReceiverCase } from './types.js';
import * as xml from './xml.js';

/**
 * Hostile and malformed PPNS pushes, each with the answer PPNS (or an attacker) must get from
 * POST /ppns/callback. Cases answered 200 also say what the worker must end with.
 */

/** Envelope fields PPNS would send; `fields` overrides or adds (undefined removes). */
export function envelopeObject(fields: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    notificationId: randomUUID(),
    boxId: testBoxId,
    messageContentType: 'application/json',
    message: JSON.stringify({ hello: 'world' }),
    status: 'PENDING',
    createdDateTime: formatPpnsDateTime(new Date()),
  };
  const merged = { ...base, ...fields };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return merged;
}

export const envelope = (fields: Record<string, unknown> = {}): string =>
  JSON.stringify(envelopeObject(fields));

/** A v2 MESSAGE_RECEIVED notification carrying `body` inline, accepted by the receiver. */
function inlineMessage(
  name: string,
  category: string,
  body: string,
  outcome: NonNullable<ReceiverCase['accepted']>['outcome'],
): ReceiverCase {
  const notificationId = randomUUID();
  const message = v2MessageReceived({
    movementId: hex16(),
    messageId: hex16(),
    messageType: 'IE029',
    messageBody: body,
  });
  return {
    name,
    category,
    body: envelope({ notificationId, message: JSON.stringify(message) }),
    expected: { status: 200 },
    accepted: { notificationId, outcome },
  };
}

/**
 * A signed v2 notification whose payload holds a string PostgreSQL cannot store (U+0000, an
 * unpaired surrogate): accepted, then quarantined by name. Before, one in the EORI or message
 * type was neither stored nor quarantined: every write of it failed.
 */
function unstorablePayload(name: string, fields: Record<string, unknown>): ReceiverCase {
  const notificationId = randomUUID();
  const message = {
    ...v2MessageReceived({
      movementId: hex16(),
      messageId: hex16(),
      messageType: 'IE029',
      messageBody: xml.ie029(),
    }),
    ...fields,
  };
  return {
    name,
    category: 'unstorable text',
    body: envelope({ notificationId, message: JSON.stringify(message) }),
    expected: { status: 200 },
    accepted: { notificationId, outcome: { status: 'quarantined', errorCode: 'INVALID_PAYLOAD' } },
  };
}

// Deep JSON is spliced in as text: JSON.stringify would recurse once per level.
const raw = '__RAW__';
const withRaw = (json: string, text: string): string => json.replace(`"${raw}"`, text);
const deepObject = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const invalidJson = (name: string, body: string | Buffer): ReceiverCase => ({
  name,
  category: 'malformed JSON',
  body,
  expected: { status: 400, code: 'INVALID_JSON', mentions: /JSON/ },
});

const invalidField = (name: string, field: string, value: unknown): ReceiverCase => ({
  name,
  category: 'wrong types',
  body: envelope({ [field]: value }),
  expected: { status: 400, code: 'INVALID_ENVELOPE', field, mentions: new RegExp(field) },
});

const notAnObject = (name: string, body: string): ReceiverCase => ({
  name,
  category: 'wrong types',
  body,
  expected: { status: 400, code: 'INVALID_ENVELOPE', mentions: /JSON object/ },
});

const badUtf8 = (name: string, bytes: number[]): ReceiverCase => {
  const text = envelope({ status: 'PENDING' });
  const at = text.indexOf('PENDING');
  return {
    name,
    category: 'invalid UTF-8',
    body: Buffer.concat([
      Buffer.from(text.slice(0, at)),
      Buffer.from(bytes),
      Buffer.from(text.slice(at)),
    ]),
    expected: { status: 400, code: 'INVALID_JSON', mentions: /UTF-8/ },
  };
};

const unsigned = (name: string, signature: ReceiverCase['signature']): ReceiverCase => ({
  name,
  category: 'signature',
  body: envelope(),
  signature,
  expected: { status: 401, code: 'INVALID_SIGNATURE', mentions: /X-Hub-Signature/ },
});

const mediaType = (name: string, contentType: string | null): ReceiverCase => ({
  name,
  category: 'content type',
  body: envelope(),
  contentType,
  expected: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', mentions: /application\/json/ },
});

export function receiverCases(maxBodyBytes: number): ReceiverCase[] {
  const valid = envelope();
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  return [
    // Malformed and truncated JSON.
    invalidJson('empty body', ''),
    invalidJson('whitespace only', '   \n\t '),
    invalidJson('a lone brace', '{'),
    invalidJson('truncated after 40 bytes', valid.slice(0, 40)),
    invalidJson('truncated one byte short', valid.slice(0, -1)),
    invalidJson('trailing garbage after the object', `${valid}}`),
    invalidJson('single-quoted strings', valid.replace(/"/g, "'")),
    invalidJson('a trailing comma', valid.replace(/}$/, ',}')),
    invalidJson('a comment', `/* hi */${valid}`),
    invalidJson('NaN as a value', valid.replace(/}$/, ',"x":NaN}')),
    invalidJson('a raw NUL byte', Buffer.concat([Buffer.from(valid), Buffer.from([0])])),
    invalidJson(
      'a raw control character inside a string',
      valid.replace('PENDING', 'PEN\u0001DING'),
    ),

    // Wrong types and values, each named by field.
    notAnObject('null', 'null'),
    notAnObject('an array', `[${valid}]`),
    notAnObject('a string', JSON.stringify(valid)),
    notAnObject('a number', '42'),
    invalidField('notificationId as a number', 'notificationId', 12345),
    invalidField('notificationId missing', 'notificationId', undefined),
    invalidField('notificationId not a UUID', 'notificationId', "1' OR '1'='1"),
    invalidField('boxId as an object', 'boxId', { id: testBoxId }),
    invalidField('boxId with full-width digits', 'boxId', testBoxId.replace(/5/g, '５')),
    invalidField('messageContentType text/html', 'messageContentType', 'text/html'),
    invalidField('message as a number', 'message', 7),
    invalidField('message as an array', 'message', ['a']),
    invalidField('message empty', 'message', ''),
    invalidField('status unknown', 'status', 'DELIVERED'),
    invalidField('status as a boolean', 'status', true),
    invalidField('createdDateTime without a zone', 'createdDateTime', '2024-05-14T15:26:40'),
    invalidField('createdDateTime impossible date', 'createdDateTime', '2024-02-31T10:00:00Z'),
    invalidField('createdDateTime as epoch millis', 'createdDateTime', 1_700_000_000_000),

    // Huge and deeply nested JSON.
    notAnObject('100,000 nested arrays', nested(100_000)),
    {
      name: 'deeply nested object as notificationId',
      category: 'huge and nested JSON',
      body: withRaw(envelope({ notificationId: raw }), deepObject(5000)),
      expected: { status: 400, code: 'INVALID_ENVELOPE', field: 'notificationId' },
    },
    {
      name: 'a 300 KB notificationId',
      category: 'huge and nested JSON',
      body: envelope({ notificationId: 'f'.repeat(300_000) }),
      expected: { status: 400, code: 'INVALID_ENVELOPE', field: 'notificationId' },
    },
    {
      name: 'prototype pollution keys',
      category: 'huge and nested JSON',
      // Valid otherwise; a foreign box keeps it out of the store.
      body: envelope({ boxId: randomUUID() }).replace(
        /^{/,
        '{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},',
      ),
      expected: { status: 403, code: 'UNKNOWN_BOX' },
    },
    {
      name: 'body over RECEIVER_MAX_BODY_BYTES (Content-Length)',
      category: 'oversize',
      body: envelope({ padding: 'x'.repeat(maxBodyBytes) }),
      expected: { status: 413, code: 'PAYLOAD_TOO_LARGE', mentions: /larger than/ },
    },
    {
      name: 'body over RECEIVER_MAX_BODY_BYTES (chunked, no Content-Length)',
      category: 'oversize',
      body: envelope({ padding: 'x'.repeat(maxBodyBytes * 2) }),
      chunked: true,
      expected: { status: 413, code: 'PAYLOAD_TOO_LARGE', mentions: /larger than/ },
    },

    // Invalid UTF-8.
    badUtf8('a lone continuation byte', [0x80]),
    badUtf8('an overlong encoding of "/"', [0xc0, 0xaf]),
    badUtf8('a UTF-16 surrogate encoded in UTF-8', [0xed, 0xa0, 0x80]),
    badUtf8('a truncated 3-byte sequence', [0xe2, 0x82]),
    {
      name: 'UTF-16 with a byte order mark',
      category: 'invalid UTF-8',
      body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(valid, 'utf16le')]),
      expected: { status: 400, code: 'INVALID_JSON' },
    },

    // Signatures.
    unsigned('no X-Hub-Signature', 'none'),
    unsigned('an empty X-Hub-Signature', { header: '' }),
    unsigned('a signature under another secret', { secret: 'NOTTHEPUSHSECRET0000000000000000' }),
    unsigned('a signature of a different body', { over: envelope() }),
    unsigned('a signature of the body with a trailing newline', { over: `${valid}\n` }),
    unsigned('a sha1= prefixed signature', { header: `sha1=${'0'.repeat(40)}` }),
    unsigned('a truncated signature', { header: '0123456789abcdef' }),
    unsigned('a SHA-256 length signature', { header: 'ab'.repeat(32) }),
    unsigned('a non-hex signature of the right length', { header: 'z'.repeat(40) }),

    // Content types.
    mediaType('no Content-Type', null),
    mediaType('text/plain', 'text/plain'),
    mediaType('application/xml', 'application/xml'),
    mediaType('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'),
    mediaType('multipart/form-data', 'multipart/form-data; boundary=x'),
    mediaType('application/json-patch+json', 'application/json-patch+json'),
    {
      name: 'gzip Content-Encoding',
      category: 'content type',
      body: valid,
      headers: { 'content-encoding': 'gzip' },
      expected: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', mentions: /Content-Encoding/ },
    },
    {
      name: 'an unknown Content-Encoding',
      category: 'content type',
      body: valid,
      headers: { 'content-encoding': 'rot13' },
      expected: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', mentions: /Content-Encoding/ },
    },

    // Box allow-list.
    {
      name: 'a box outside PPNS_BOX_IDS',
      category: 'unknown box',
      body: envelope({ boxId: randomUUID() }),
      expected: { status: 403, code: 'UNKNOWN_BOX', mentions: /box/ },
    },

    // NCTS XML inline in a correctly signed notification: accepted (PPNS must not retry it), then
    // quarantined by the worker with its raw payload, never parsed unsafely, never lost.
    inlineMessage(
      'inline XML with a DOCTYPE',
      'XML',
      xml.withDoctype(xml.ie029(), '<!DOCTYPE x>'),
      {
        status: 'quarantined',
        errorCode: 'DOCTYPE_FORBIDDEN',
      },
    ),
    inlineMessage('inline XML with billion laughs', 'XML', xml.billionLaughs(xml.ie029()), {
      status: 'quarantined',
      errorCode: 'DOCTYPE_FORBIDDEN',
    }),
    inlineMessage('inline XML with an external entity (XXE)', 'XML', xml.xxeFile(xml.ie029()), {
      status: 'quarantined',
      errorCode: 'DOCTYPE_FORBIDDEN',
    }),
    inlineMessage('inline XML nested 10,000 deep', 'XML', xml.deeplyNested(xml.ie029(), 10_000), {
      status: 'quarantined',
      errorCode: 'TOO_DEEP',
    }),
    inlineMessage(
      'inline XML with a 100 KB attribute',
      'XML',
      xml.hugeAttribute(xml.ie029(), 100_000),
      { status: 'quarantined', errorCode: 'TOO_LARGE' },
    ),
    inlineMessage('inline XML truncated', 'XML', xml.ie029().slice(0, 500), {
      status: 'quarantined',
      errorCode: 'NOT_WELL_FORMED',
    }),
    inlineMessage('inline XML with &#0;', 'XML', xml.nulCharacterReference(xml.ie029()), {
      status: 'quarantined',
      errorCode: 'NOT_WELL_FORMED',
    }),
    inlineMessage('inline XML with a raw U+0001', 'XML', xml.rawControlCharacter(xml.ie029()), {
      status: 'quarantined',
      errorCode: 'NOT_WELL_FORMED',
    }),
    inlineMessage('inline JSON instead of XML', 'XML', valid, {
      status: 'quarantined',
      errorCode: 'NOT_NCTS',
    }),
    unstorablePayload('U+0000 in enrollmentEORINumber', { enrollmentEORINumber: 'GB12\u0000' }),
    unstorablePayload('U+0000 in messageType', { messageType: 'IE0\u000029' }),
    unstorablePayload('an unpaired surrogate in enrollmentEORINumber', {
      enrollmentEORINumber: 'GB12\ud800',
    }),
    // Well-formed but not a message we know: stored and flagged (knownType false), not lost.
    inlineMessage('inline XML with an unknown root', 'XML', xml.renameRoot(xml.ie029(), 'CC999C'), {
      status: 'stored',
      knownType: false,
    }),
    inlineMessage('inline XML in the wrong namespace', 'XML', xml.wrongNamespace(xml.ie029()), {
      // Signed by HMRC and well-formed: kept, with a warning in its summary, rather than lost.
      status: 'stored',
      knownType: true,
    }),
    (() => {
      const notificationId = randomUUID();
      const message = {
        ...v2MessageReceived({ movementId: hex16(), messageId: hex16() }),
        notificationType: 'MOVEMENT_DELETED',
      };
      return {
        name: 'an unknown notificationType',
        category: 'unknown message type',
        body: envelope({ notificationId, message: JSON.stringify(message) }),
        expected: { status: 200 },
        accepted: {
          notificationId,
          outcome: { status: 'quarantined' as const, errorCode: 'UNKNOWN_PAYLOAD' },
        },
      };
    })(),
    (() => {
      const notificationId = randomUUID();
      const message = v2MessageReceived({
        movementId: hex16(),
        messageId: hex16(),
        messageType: 'IE999',
        messageBody: xml.ie029(),
      });
      return {
        name: 'a messageType that is not an NCTS message',
        category: 'unknown message type',
        body: envelope({ notificationId, message: JSON.stringify(message) }),
        expected: { status: 200 },
        // The XML says what it is (IE029); the claim is kept as a warning.
        accepted: { notificationId, outcome: { status: 'stored' as const, knownType: true } },
      };
    })(),
    {
      name: 'message object nested 5,000 deep',
      category: 'huge and nested JSON',
      ...(() => {
        const notificationId = randomUUID();
        return {
          body: withRaw(envelope({ notificationId, message: raw }), deepObject(5000)),
          expected: { status: 200 },
          accepted: {
            notificationId,
            outcome: { status: 'quarantined' as const, errorCode: 'UNKNOWN_PAYLOAD' },
          },
        };
      })(),
    },
  ];
}
