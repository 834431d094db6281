import { encodeCursor } from '@ctc-hub/db';
import * as xml from './xml.js';

/**
 * Every route of the api with every parameter it reads (query, path, header, JSON body field),
 * and the hostile values each must refuse with a 400 naming the parameter: what PostgreSQL
 * refuses (NUL, unpaired surrogates, bytes that are not UTF-8), values beyond the range of its
 * types (timestamps in year 0 or 300000, integers past int8) and overlong text. Values a
 * parameter may legitimately accept (an extreme but valid page number or cursor) only must not
 * give a 5xx.
 */

export type ParamKind = 'text' | 'number' | 'date' | 'cursor' | 'id';

export interface Param {
  name: string;
  kind?: ParamKind;
  /** How a refusal names it, when not by `name` itself. */
  named?: RegExp;
  /**
   * Only what the input guard refuses (NUL, not UTF-8) must be a 400 naming it; for the rest the
   * route answers another 4xx of its own (the OAuth callback names the state it could not find).
   */
  guardOnly?: boolean;
}

export interface RouteCase {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** As registered, with `:name` path parameters. */
  route: string;
  /** Valid values of the path parameters, used when another parameter is the hostile one. */
  path?: Record<string, string>;
  pathParams?: Param[];
  /** Valid query sent with every case (the hostile parameter replaces its own entry). */
  baseQuery?: Record<string, string>;
  query?: Param[];
  /** Valid headers sent with every case. */
  baseHeaders?: Record<string, string>;
  headers?: Param[];
  /** A JSON body: the valid base object and the fields to make hostile. */
  json?: { base: Record<string, unknown>; fields: Param[] };
  /** A non-JSON body sent as is (declarations). */
  body?: { contentType: string; text: () => string };
  /** Answers 4xx of its own for everything but the guard's values (e.g. 405 off API 1.0). */
  guardOnly?: boolean;
  /** A long-lived answer (SSE): extreme-but-valid values would open a stream. */
  streams?: boolean;
}

export interface HostileValue {
  label: string;
  /** As it goes into the URL (already percent-encoded) or the header. */
  wire: string;
  /** A 400 naming the parameter; otherwise only "not 5xx". */
  refused: boolean;
  /** Refused by the input guard whatever the route (NUL, not UTF-8). */
  guard?: boolean;
}

const overlong = 'A'.repeat(300);

/** For every query and path parameter. */
export const textValues: HostileValue[] = [
  { label: 'a NUL inside', wire: 'a%00b', refused: true, guard: true },
  { label: 'only a NUL', wire: '%00', refused: true, guard: true },
  { label: 'a lone 0xFF byte', wire: '%FF', refused: true, guard: true },
  { label: 'an encoded surrogate (CESU-8)', wire: '%ED%A0%80', refused: true, guard: true },
  { label: 'an overlong UTF-8 slash', wire: '%C0%AF', refused: true, guard: true },
  { label: 'a truncated UTF-8 character', wire: 'a%C3', refused: true, guard: true },
  { label: '300 characters', wire: overlong, refused: true },
  { label: 'SQL quoting', wire: '%27%22%5C%3B--', refused: false },
  // The query parser takes a `%` that starts no escape literally; a filter may hold one.
  { label: 'a stray percent sign', wire: '50%', refused: false },
];

const extraValues: Record<ParamKind, HostileValue[]> = {
  text: [],
  id: [],
  number: [
    { label: 'beyond int8', wire: '99999999999999999999', refused: true },
    { label: 'negative', wire: '-1', refused: true },
    { label: 'an exponent', wire: '1e3', refused: true },
    { label: 'hexadecimal', wire: '0x10', refused: true },
    { label: 'beyond int4', wire: '2147483648', refused: false },
  ],
  date: [
    { label: 'year 0', wire: '0000-01-01T00:00:00Z', refused: true },
    { label: 'year 300000', wire: '300000-01-01T00:00:00Z', refused: true },
    { label: 'year +300000', wire: '%2B300000-01-01T00:00:00Z', refused: true },
    { label: 'February 30th', wire: '2021-02-30T00:00:00Z', refused: true },
    { label: 'an offset of 25 hours', wire: '2021-01-01T00:00:00%2B25:00', refused: true },
    { label: 'no zone', wire: '2021-01-01T00:00:00', refused: true },
    { label: 'the last instant of 9999', wire: '9999-12-31T23:59:59.999-18:00', refused: false },
  ],
  cursor: [
    {
      label: 'the largest cursor',
      wire: encodeCursor({ xid: 2n ** 64n - 1n, id: 2n ** 63n - 1n }),
      refused: false,
    },
  ],
};

export function valuesFor(param: Param, route: RouteCase): HostileValue[] {
  const values = [...textValues, ...extraValues[param.kind ?? 'text']];
  // An extreme but valid cursor would open an event stream that never ends.
  return route.streams ? values.filter((value) => value.refused) : values;
}

/** Header values (sent by node:http as latin-1 bytes), and a NUL sent over a raw socket. */
export const headerValues: HostileValue[] = [
  { label: 'a 0xFF byte', wire: 'a\u00ffb', refused: true },
  { label: '300 characters', wire: overlong, refused: true },
  { label: 'a NUL (raw socket)', wire: 'a\u0000b', refused: true, guard: true },
];

/** JSON body values, as JSON text. */
export const jsonValues: { label: string; json: string }[] = [
  { label: 'a NUL inside', json: '"a\\u0000b"' },
  { label: 'an unpaired high surrogate', json: '"\\ud800"' },
  { label: 'an unpaired low surrogate', json: '"x\\udc00y"' },
  { label: '300 characters', json: JSON.stringify(overlong) },
  { label: 'a number', json: '12345678901234567890' },
  { label: 'an object', json: '{"$gt": ""}' },
  { label: 'null', json: 'null' },
];

const hmrcId = '0123456789abcdef';
const otherHmrcId = 'fedcba9876543210';
const uuid = '0f6b1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b';
const grn = '24GB0000010000001';
export const traderEori = 'GB000000000001';

const paging: Param[] = [
  { name: 'page', kind: 'number' },
  { name: 'count', kind: 'number' },
];
const id = (name: string, named?: RegExp): Param => ({ name, kind: 'id', ...(named && { named }) });

/**
 * HMRC's read routes: every case sends HMRC's Accept header; the movement id is named as HMRC's
 * routes name it (`movementId`), and a year-0 date gets HMRC's own "Year cannot be negative".
 */
const hmrcAcceptHeader = { Accept: 'application/vnd.hmrc.2.1+json' };
const hmrcDate = (name: string): Param => ({
  name,
  kind: 'date',
  named: new RegExp(`${name}|Year cannot be negative`),
});

const movementRoutes = (type: 'departure' | 'arrival'): RouteCase[] => {
  const base = `/customs/transits/movements/${type}s`;
  const idName = `${type}Id`;
  // HMRC's binder says movementId; the input guard (before it) names the Express parameter.
  const movementId = id(idName, new RegExp(`movementId|${idName}`));
  return [
    {
      method: 'GET',
      route: base,
      baseHeaders: hmrcAcceptHeader,
      query: [
        hmrcDate('updatedSince'),
        hmrcDate('receivedUntil'),
        { name: 'movementEORI' },
        { name: 'movementReferenceNumber' },
        { name: 'localReferenceNumber' },
        ...paging,
      ],
    },
    {
      method: 'GET',
      route: `${base}/:${idName}`,
      baseHeaders: hmrcAcceptHeader,
      path: { [idName]: hmrcId },
      pathParams: [movementId],
    },
    {
      method: 'GET',
      route: `${base}/:${idName}/messages`,
      baseHeaders: hmrcAcceptHeader,
      path: { [idName]: hmrcId },
      pathParams: [movementId],
      query: [hmrcDate('receivedSince'), hmrcDate('receivedUntil'), ...paging],
    },
    ...['', '/body'].map((tail): RouteCase => ({
      method: 'GET',
      route: `${base}/:${idName}/messages/:messageId${tail}`,
      baseHeaders: hmrcAcceptHeader,
      path: { [idName]: hmrcId, messageId: otherHmrcId },
      pathParams: [movementId, id('messageId')],
    })),
    // ctc-hub's own views of the same movements (movements/hub-routes.ts).
    {
      method: 'GET',
      route: `/v1/${type}s/:${idName}`,
      path: { [idName]: hmrcId },
      pathParams: [id(idName)],
    },
    {
      method: 'GET',
      route: `/v1/${type}s/:${idName}/messages`,
      path: { [idName]: hmrcId },
      pathParams: [id(idName)],
      query: [
        { name: 'receivedSince', kind: 'date' },
        { name: 'receivedUntil', kind: 'date' },
        ...paging,
      ],
    },
    {
      method: 'GET',
      route: `/v1/${type}s/:${idName}/messages/:messageId/body`,
      path: { [idName]: hmrcId, messageId: otherHmrcId },
      pathParams: [id(idName), id('messageId')],
    },
  ];
};

const deadLetterFilter: Param[] = [
  { name: 'kind' },
  { name: 'errorCode' },
  { name: 'from', kind: 'date' },
  { name: 'to', kind: 'date' },
  { name: 'boxId' },
  { name: 'eori' },
  { name: 'status' },
];

const eoriHeader: Param = { name: 'X-Trader-EORI' };

/**
 * The PPNS relay. Operators' consumer routes: callbackUrl is left out, since null is a valid
 * value (a consumer that only pulls) and any real URL is challenged. The PPNS pull API answers
 * with PPNS's own messages ("Invalid Status parameter provided", "Unparsable DateValue Param
 * provided"); count takes any int, negative included, as PPNS's does, so it is plain text here.
 */
const ppnsHeaders = { Accept: 'application/vnd.hmrc.1.0+json' };
const boxIdParam: Param = { name: 'boxId', kind: 'id', named: /Box ID|boxId/ };
const consumerFields: Param[] = [
  { name: 'name' },
  { name: 'secret' },
  { name: 'eoris' },
  { name: 'enabled' },
];
const relayRoutes: RouteCase[] = [
  {
    method: 'POST',
    route: '/v1/relay/consumers',
    json: { base: { name: 'fuzz', eoris: '*' }, fields: [...consumerFields, { name: 'boxId' }] },
  },
  ...(['GET', 'DELETE'] as const).map((method): RouteCase => ({
    method,
    route: '/v1/relay/consumers/:consumerId',
    path: { consumerId: uuid },
    pathParams: [id('consumerId')],
  })),
  {
    method: 'PATCH',
    route: '/v1/relay/consumers/:consumerId',
    path: { consumerId: uuid },
    pathParams: [id('consumerId')],
    json: { base: {}, fields: consumerFields },
  },
  {
    method: 'GET',
    route: '/misc/push-pull-notification/box/:boxId/notifications',
    path: { boxId: uuid },
    pathParams: [boxIdParam],
    baseHeaders: ppnsHeaders,
    query: [
      { name: 'status' },
      { name: 'fromDate', named: /DateValue|fromDate/ },
      { name: 'toDate', named: /DateValue|toDate/ },
      { name: 'count' },
    ],
  },
  {
    method: 'PUT',
    route: '/misc/push-pull-notification/box/:boxId/notifications/acknowledge',
    path: { boxId: uuid },
    pathParams: [boxIdParam],
    baseHeaders: ppnsHeaders,
    json: {
      base: { notificationIds: [uuid] },
      fields: [{ name: 'notificationIds', named: /JSON body/ }],
    },
  },
];

export const routeCases: RouteCase[] = [
  ...relayRoutes,
  ...movementRoutes('departure'),
  ...movementRoutes('arrival'),
  {
    method: 'GET',
    route: '/v1/messages',
    baseQuery: { messageType: 'IE015' },
    query: [
      { name: 'boxId' },
      { name: 'requestId' },
      { name: 'messageType' },
      { name: 'movementType' },
      { name: 'receivedSince', kind: 'date' },
      { name: 'receivedUntil', kind: 'date' },
      ...paging,
    ],
  },
  {
    method: 'GET',
    route: '/v1/notifications',
    query: [
      { name: 'status' },
      { name: 'boxId' },
      { name: 'from', kind: 'date' },
      { name: 'to', kind: 'date' },
      ...paging,
    ],
  },
  {
    method: 'GET',
    route: '/v1/notifications/:notificationId',
    path: { notificationId: uuid },
    pathParams: [id('notificationId')],
  },
  { method: 'GET', route: '/v1/dead-letters', query: [...deadLetterFilter, ...paging] },
  {
    method: 'GET',
    route: '/v1/dead-letters/:deadLetterId',
    path: { deadLetterId: uuid },
    pathParams: [id('deadLetterId')],
  },
  {
    method: 'DELETE',
    route: '/v1/dead-letters/:deadLetterId',
    path: { deadLetterId: uuid },
    pathParams: [id('deadLetterId')],
  },
  {
    method: 'POST',
    route: '/v1/dead-letters/:deadLetterId/replay',
    path: { deadLetterId: uuid },
    pathParams: [id('deadLetterId')],
    json: { base: {}, fields: [{ name: 'force' }] },
  },
  ...(['replay', 'purge'] as const).map((action): RouteCase => ({
    method: 'POST',
    route: `/v1/dead-letters/${action}`,
    json: {
      base: { dryRun: true },
      fields: [...deadLetterFilter, { name: 'dryRun' }],
    },
  })),
  ...(['replay', 'purge'] as const).map((action): RouteCase => ({
    method: 'POST',
    route: `/v1/dead-letters/${action}`,
    json: { base: { kind: 'notification' }, fields: [{ name: 'confirmation' }] },
  })),
  ...(['GET /v1/connections/:eori', 'POST /v1/connections/:eori/confirm'] as const).map(
    (entry): RouteCase => {
      const [method, route] = entry.split(' ') as ['GET' | 'POST', string];
      return { method, route, path: { eori: 'GB123456789000' }, pathParams: [{ name: 'eori' }] };
    },
  ),
  {
    method: 'GET',
    route: '/v1/traders',
    query: [{ name: 'tokenState' }, { name: 'needsAction' }, ...paging],
  },
  {
    method: 'GET',
    route: '/v1/traders/:eori',
    path: { eori: 'GB123456789000' },
    pathParams: [{ name: 'eori' }],
  },
  {
    method: 'POST',
    route: '/v1/connections/:eori/resolve',
    path: { eori: 'GB123456789000' },
    pathParams: [{ name: 'eori' }],
    json: { base: { quarantined: 'release' }, fields: [{ name: 'quarantined' }] },
  },
  {
    method: 'GET',
    route: '/v1/replays/:replayId',
    path: { replayId: uuid },
    pathParams: [id('replayId')],
  },
  {
    method: 'GET',
    route: '/v1/audit',
    query: [
      { name: 'action' },
      { name: 'actor' },
      { name: 'outcome' },
      { name: 'from', kind: 'date' },
      { name: 'to', kind: 'date' },
      ...paging,
    ],
  },
  {
    method: 'GET',
    route: '/v1/events',
    query: [
      { name: 'after', kind: 'cursor' },
      { name: 'limit', kind: 'number' },
    ],
  },
  {
    method: 'GET',
    route: '/v1/events/stream',
    streams: true,
    query: [{ name: 'after', kind: 'cursor' }],
    headers: [{ name: 'Last-Event-ID', kind: 'cursor' }],
  },
  {
    method: 'POST',
    route: '/v1/departures',
    body: { contentType: 'application/xml', text: xml.ie015 },
    headers: [eoriHeader, { name: 'Idempotency-Key' }],
  },
  {
    method: 'POST',
    route: '/v1/arrivals',
    body: { contentType: 'application/xml', text: () => xml.example('cc007c-valid.xml') },
    headers: [eoriHeader, { name: 'Idempotency-Key' }],
  },
  ...(['departure', 'arrival'] as const).map((type): RouteCase => ({
    method: 'POST',
    route: `/v1/${type}s/:${type}Id/messages`,
    path: { [`${type}Id`]: hmrcId },
    pathParams: [id(`${type}Id`)],
    body: { contentType: 'application/xml', text: () => xml.example('cc013c-valid.xml') },
  })),
  {
    method: 'PUT',
    route: '/v1/arrivals/:arrivalId',
    path: { arrivalId: hmrcId },
    pathParams: [id('arrivalId')],
    guardOnly: true,
  },
  // HMRC's own write paths (services/api/src/hmrc-compat): HMRC's Accept, the trader from the key.
  ...(['departure', 'arrival'] as const).flatMap((type): RouteCase[] => [
    {
      method: 'POST',
      route: `/customs/transits/movements/${type}s`,
      baseHeaders: { accept: 'application/vnd.hmrc.2.1+json' },
      body: {
        contentType: 'application/xml',
        text: type === 'departure' ? xml.ie015 : () => xml.example('cc007c-valid.xml'),
      },
      headers: [{ name: 'Idempotency-Key' }],
    },
    {
      method: 'POST',
      route: `/customs/transits/movements/${type}s/:${type}Id/messages`,
      baseHeaders: { accept: 'application/vnd.hmrc.2.1+json' },
      path: { [`${type}Id`]: hmrcId },
      // HMRC's binder says movementId; the input guard (before it) names the Express parameter.
      pathParams: [id(`${type}Id`, new RegExp(`movementId|${type}Id`))],
      body: { contentType: 'application/xml', text: () => xml.example('cc013c-valid.xml') },
    },
  ]),
  {
    // The large-message route's upload form (hmrc-compat/upload.ts): answers as Upscan does, in
    // plain text, so only the input guard's refusals are JSON naming the parameter.
    method: 'POST',
    route: '/uploads/:submissionId',
    path: { submissionId: uuid },
    pathParams: [id('submissionId')],
    guardOnly: true,
  },
  {
    method: 'PUT',
    route: '/customs/transits/movements/arrivals/:arrivalId',
    path: { arrivalId: hmrcId },
    pathParams: [id('arrivalId')],
    guardOnly: true,
  },
  {
    method: 'GET',
    route: '/v1/submissions/:submissionId',
    path: { submissionId: uuid },
    pathParams: [id('submissionId')],
  },
  {
    method: 'GET',
    route: '/v1/submissions',
    query: [
      { name: 'status' },
      { name: 'eori' },
      { name: 'lrn' },
      { name: 'messageType' },
      ...paging,
    ],
  },
  {
    method: 'POST',
    route: '/v1/guarantees/:grn/balance',
    path: { grn },
    pathParams: [id('grn', /guarantee reference number|grn/i)],
    baseHeaders: { 'X-Trader-EORI': traderEori },
    headers: [eoriHeader],
    json: { base: { accessCode: 'AC01' }, fields: [{ name: 'accessCode', named: /access code/i }] },
  },
  { method: 'GET', route: '/oauth/hmrc/start', query: [{ name: 'eori' }] },
  {
    method: 'GET',
    route: '/oauth/hmrc/callback',
    query: [
      { name: 'state' },
      { name: 'code', guardOnly: true },
      { name: 'error', guardOnly: true },
    ],
  },
];

/** Routes that read no parameter at all (health, metrics, operator pages). */
export const routesWithoutParams = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /ops',
  'GET /ops/data',
  'GET /ops/assets/ops.css',
  'GET /ops/assets/ops.js',
  'GET /ops/assets/favicon.svg',
  'GET /v1/connections',
  'GET /',
  'GET /openapi.json',
  'GET /docs',
  'GET /docs/assets/redoc.standalone.js',
  'GET /v1/relay/consumers',
];
