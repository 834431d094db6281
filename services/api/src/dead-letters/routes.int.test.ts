// Risk retired: operators can find and inspect what the pipeline gave up on (filters, paging,
// payload and error history on the detail only), and a scoped key sees only its own traders'.
import { randomUUID } from 'node:crypto';
import { eoriA, eoriB, keys, startTestApi, type TestApi } from '../test-support/api.js';
import { seedDeadLetter } from '../test-support/seed.js';

let api: TestApi;
const boxId = '9d3b2c1a-5e4f-4a6b-8c7d-0e1f2a3b4c5d';
const notificationId = '6e0f4c2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b';
let quarantine: string; // eoriA, newest
let fetchFailure: string; // eoriB
let anonymous: string; // no EORI, oldest, resolved

const envelope = { notificationId, boxId, message: '{"not":"ctc"}', status: 'PENDING' };

beforeAll(async () => {
  api = await startTestApi();
  quarantine = await seedDeadLetter(api.db, {
    kind: 'notification',
    errorCode: 'UNKNOWN_PAYLOAD',
    errorMessage: 'message matches neither the CTC v2 nor the v1 notification',
    payload: { envelope: JSON.stringify(envelope) },
    errorHistory: [
      { at: '2026-11-18T10:00:00.000Z', code: 'UNKNOWN_PAYLOAD', message: 'first', attempt: 1 },
    ],
    notificationId,
    boxId,
    eori: eoriA,
    movementType: 'departure',
    movementId: 'abcdef0123456789',
    messageId: 'fedcba9876543210',
    queue: 'ingest',
    jobId: `ntf-${notificationId}`,
    createdAt: new Date('2026-11-18T10:00:00.000Z'),
  });
  fetchFailure = await seedDeadLetter(api.db, {
    kind: 'fetch-message',
    errorCode: 'HMRC_404',
    errorMessage: 'HMRC answered 404',
    payload: {
      messageUri: '/customs/transits/movements/arrivals/1111111111111111/messages/2222222222222222',
    },
    eori: eoriB,
    movementType: 'arrival',
    movementId: '1111111111111111',
    messageId: '2222222222222222',
    createdAt: new Date('2026-11-17T10:00:00.000Z'),
  });
  anonymous = await seedDeadLetter(api.db, {
    kind: 'notification',
    errorCode: 'INVALID_ENVELOPE',
    errorMessage: 'boxId must be a UUID',
    payload: { envelope: '{"boxId":"x"}' },
    eori: null,
    status: 'resolved',
    createdAt: new Date('2026-11-16T10:00:00.000Z'),
  });
});

afterAll(async () => {
  await api.close();
});

const ids = (body: { deadLetters: { id: string }[] }) =>
  body.deadLetters.map((deadLetter) => deadLetter.id);

const quarantineSummary = () => ({
  _links: {
    self: { href: `/v1/dead-letters/${quarantine}` },
    movement: { href: '/customs/transits/movements/departures/abcdef0123456789' },
    notification: { href: `/v1/notifications/${notificationId}` },
  },
  id: quarantine,
  dedupeKey: `notification:${notificationId}`,
  kind: 'notification',
  queue: 'ingest',
  jobId: `ntf-${notificationId}`,
  errorCode: 'UNKNOWN_PAYLOAD',
  errorMessage: 'message matches neither the CTC v2 nor the v1 notification',
  notificationId,
  submissionId: null,
  boxId,
  eori: eoriA,
  movementType: 'departure',
  movementId: 'abcdef0123456789',
  messageId: 'fedcba9876543210',
  status: 'open',
  occurrences: 1,
  createdAt: '2026-11-18T10:00:00.000Z',
  updatedAt: '2026-11-18T10:00:00.000Z',
  replayedAt: null,
  replayCount: 0,
});

describe('GET /v1/dead-letters', () => {
  it('lists dead letters newest first, without payload or error history', async () => {
    const response = await api.get('/v1/dead-letters');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body._links).toEqual({ self: { href: '/v1/dead-letters' } });
    expect(body.totalCount).toBe(3);
    expect(ids(body)).toEqual([quarantine, fetchFailure, anonymous]);
    expect(body.deadLetters[0]).toEqual(quarantineSummary());
    expect(body.deadLetters[2]._links).toEqual({ self: { href: `/v1/dead-letters/${anonymous}` } });
  });

  it('filters by kind, errorCode, status, boxId, eori and time', async () => {
    const query = async (search: string) =>
      ids(await (await api.get(`/v1/dead-letters?${search}`)).json());
    expect(await query('kind=notification')).toEqual([quarantine, anonymous]);
    expect(await query('kind=notification&errorCode=INVALID_ENVELOPE')).toEqual([anonymous]);
    expect(await query('status=open')).toEqual([quarantine, fetchFailure]);
    expect(await query(`boxId=${boxId}`)).toEqual([quarantine]);
    expect(await query(`eori=${eoriB.toLowerCase()}`)).toEqual([fetchFailure]);
    expect(await query('from=2026-11-17T10:00:00Z&to=2026-11-17T10:00:00Z')).toEqual([
      fetchFailure,
    ]);
    expect(await query('from=2026-11-17T10:00:00.001Z')).toEqual([quarantine]);
  });

  it('pages and 404s past the last page', async () => {
    const second = await (await api.get('/v1/dead-letters?page=2&count=2')).json();
    expect(second._links.self.href).toBe('/v1/dead-letters?page=2&count=2');
    expect(ids(second)).toEqual([anonymous]);
    const past = await api.get('/v1/dead-letters?page=3&count=2');
    expect(past.status).toBe(404);
    expect(await past.json()).toEqual({
      code: 'NOT_FOUND',
      message: 'The requested page does not exist',
    });
  });

  it('shows a scoped key only dead letters of its EORIs', async () => {
    expect(ids(await (await api.get('/v1/dead-letters', { key: keys.a })).json())).toEqual([
      quarantine,
    ]);
    const forB = await (await api.get('/v1/dead-letters', { key: keys.b })).json();
    expect(forB.totalCount).toBe(1);
    expect(ids(forB)).toEqual([fetchFailure]);
  });

  it.each([
    ['status=broken', 'The status parameter must be one of open, replayed, resolved, purged'],
    [
      'from=last-week',
      'Cannot parse parameter from as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00',
    ],
    ['boxId=123', 'The boxId parameter must be a UUID'],
    [
      'kind=notifications-please',
      'The kind parameter must be one of notification, fetch-message, submit, message, webhook, relay (submission is taken for submit); got "notifications-please"',
    ],
    ['page=-1', 'The page parameter must be a positive number'],
  ])('rejects %s with 400', async (query, message) => {
    const response = await api.get(`/v1/dead-letters?${query}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ code: 'BAD_REQUEST', message });
  });
});

describe('GET /v1/dead-letters/{id}', () => {
  it('returns one dead letter with its payload and error history', async () => {
    const response = await api.get(`/v1/dead-letters/${quarantine}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ...quarantineSummary(),
      errorHistory: [
        { at: '2026-11-18T10:00:00.000Z', code: 'UNKNOWN_PAYLOAD', message: 'first', attempt: 1 },
      ],
      payload: { envelope: JSON.stringify(envelope) },
    });
  });

  it("answers 404 for another trader's dead letter and for an unknown id, 400 for a malformed one", async () => {
    for (const [id, key] of [
      [quarantine, keys.b],
      [anonymous, keys.a],
      [randomUUID(), keys.all],
    ] as const) {
      const response = await api.get(`/v1/dead-letters/${id}`, { key });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        code: 'NOT_FOUND',
        message: `Dead letter ${id} was not found`,
      });
    }
    expect((await api.get(`/v1/dead-letters/${fetchFailure}`, { key: keys.b })).status).toBe(200);
    const malformed = await api.get('/v1/dead-letters/17');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      code: 'BAD_REQUEST',
      message: 'deadLetterId must be a UUID',
    });
  });
});
