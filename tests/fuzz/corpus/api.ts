import type { ApiCase } from './types.js';
import * as xml from './xml.js';

/**
 * Hostile and malformed declarations sent to the submission API, each with the HMRC-like answer a
 * trader's system must get: a 4xx naming the problem, nothing stored, nothing queued.
 */

const departures = '/v1/departures';

const malformed = (
  name: string,
  body: string | Buffer,
  mentions: RegExp,
  category = 'XML',
): ApiCase => ({
  name,
  category,
  path: departures,
  body,
  expected: { status: 400, code: 'BAD_REQUEST', mentions },
});

const mediaType = (name: string, contentType: string | null): ApiCase => ({
  name,
  category: 'content type',
  path: departures,
  body: xml.ie015(),
  contentType,
  expected: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', mentions: /content-type/i },
});

export function apiCases(maxBytes: number): ApiCase[] {
  const ie015 = xml.ie015();
  return [
    // Who may call.
    {
      name: 'no API key',
      category: 'authentication',
      path: departures,
      body: ie015,
      apiKey: null,
      expected: { status: 401, code: 'UNAUTHORIZED' },
    },
    {
      name: 'an unknown API key',
      category: 'authentication',
      path: departures,
      body: ie015,
      apiKey: 'not-a-key',
      expected: { status: 401, code: 'UNAUTHORIZED' },
    },

    // Content types.
    mediaType('no Content-Type', null),
    mediaType('text/xml', 'text/xml'),
    mediaType('application/json', 'application/json'),
    mediaType('application/xml with a latin-1 charset', 'application/xml; charset=iso-8859-1'),
    mediaType('multipart/form-data', 'multipart/form-data; boundary=x'),

    // Malformed, truncated, not XML, bad encodings.
    malformed('an empty body', '', /empty/),
    malformed('truncated XML', ie015.slice(0, 300), /Unterminated|not match|closed|Unexpected/i),
    malformed('JSON sent as application/xml', '{"CC015C":{}}', /not XML/),
    malformed('two root elements', `${ie015}${ie015}`, /root/),
    malformed('text after the root', `${ie015}trailing`, /after the root/),
    malformed('an undefined entity reference', ie015.replace('<LRN>', '<LRN>&foo;'), /entity/i),
    malformed(
      'invalid UTF-8',
      Buffer.concat([
        Buffer.from(ie015.slice(0, 200)),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(ie015.slice(200)),
      ]),
      /UTF-8/,
      'encoding',
    ),
    malformed(
      'UTF-16 with a byte order mark',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(ie015, 'utf16le')]),
      /UTF-8|UTF-16/,
      'encoding',
    ),
    malformed('a character reference to U+0000', xml.nulCharacterReference(ie015), /character/i),
    malformed('a raw control character', xml.rawControlCharacter(ie015), /character/i),

    // DOCTYPE, entity expansion, external entities: refused before any expansion or fetch.
    malformed('an internal DOCTYPE', xml.withDoctype(ie015, '<!DOCTYPE ncts:CC015C>'), /DOCTYPE/),
    malformed('billion laughs', xml.billionLaughs(ie015), /DOCTYPE/),
    malformed('XXE reading /etc/passwd', xml.xxeFile(ie015), /DOCTYPE/),
    malformed(
      'XXE through a remote parameter entity',
      xml.xxeParameter(ie015, 'http://169.254.169.254/evil.dtd'),
      /DOCTYPE/,
    ),
    malformed('an external DTD', xml.externalDtd(ie015, 'http://169.254.169.254/x.dtd'), /DOCTYPE/),
    malformed('an ENTITY declaration without a DOCTYPE', xml.bareEntity(ie015), /DOCTYPE|entity/i),

    // Size and shape limits.
    malformed('nesting 10,000 deep', xml.deeplyNested(ie015, 10_000), /deeper/),
    malformed('a 100 KB attribute', xml.hugeAttribute(ie015, 100_000), /Attribute value longer/),
    {
      name: '5,000 attributes on the root',
      category: 'size',
      path: departures,
      body: xml.manyAttributes(ie015, 5000),
      expected: { status: 400, code: 'SCHEMA_VALIDATION', mentions: /attribute/i },
    },
    {
      name: 'a 1 MB text node',
      category: 'size',
      path: departures,
      body: xml.hugeText(ie015, 1024 * 1024),
      expected: { status: 400, code: 'SCHEMA_VALIDATION', mentions: /messageIdentification/ },
    },
    {
      name: 'a body over SUBMISSION_MAX_BYTES',
      category: 'size',
      path: departures,
      body: xml.hugeText(ie015, maxBytes + 1),
      expected: { status: 413, code: 'REQUEST_ENTITY_TOO_LARGE' },
    },

    // Right syntax, wrong message.
    {
      name: 'an IE029 (NCTS → trader) posted as a declaration',
      category: 'wrong message',
      path: departures,
      body: xml.ie029(),
      expected: { status: 400, code: 'BAD_REQUEST', mentions: /IE029 is not a valid message type/ },
    },
    {
      name: 'an unknown root element',
      category: 'wrong message',
      path: departures,
      body: xml.renameRoot(ie015, 'CC999C'),
      expected: {
        status: 400,
        code: 'BAD_REQUEST',
        mentions: /CC999C is not a valid message type/,
      },
    },
    {
      name: 'a phase 4 root on API 2.1',
      category: 'wrong message',
      path: departures,
      body: xml.renameRoot(ie015, 'CC015B'),
      expected: {
        status: 400,
        code: 'BAD_REQUEST',
        mentions: /CC015B is not a valid message type/,
      },
    },
    {
      name: 'the wrong namespace',
      category: 'wrong message',
      path: departures,
      body: xml.wrongNamespace(ie015),
      expected: {
        status: 400,
        code: 'SCHEMA_VALIDATION',
        mentions: /evil\.example\.com|namespace/,
      },
    },
    {
      name: 'no namespace at all',
      category: 'wrong message',
      path: departures,
      body: ie015.replace(/ncts:/g, '').replace(' xmlns:ncts="http://ncts.dgtaxud.ec"', ''),
      expected: { status: 400, code: 'SCHEMA_VALIDATION' },
    },
    {
      name: 'messageType disagreeing with the root',
      category: 'wrong message',
      path: departures,
      body: ie015.replace('<messageType>CC015C<', '<messageType>CC029C<'),
      expected: { status: 400, code: 'BUSINESS_VALIDATION_ERROR', mentions: /messageType/i },
    },
    {
      name: 'an IE015 posted to the arrivals endpoint',
      category: 'wrong message',
      path: '/v1/arrivals',
      body: ie015,
      expected: { status: 400, code: 'BAD_REQUEST', mentions: /IE015 is not a valid message type/ },
    },
    {
      name: 'a follow-up to a traversal movement id',
      category: 'wrong message',
      path: '/v1/departures/..%2f..%2fadmin/messages',
      body: ie015,
      expected: { status: 400, code: 'BAD_REQUEST', mentions: /departureId/ },
    },
  ];
}
