// Risk retired: with CTC_API_VERSION=1.0 (the retired phase-4 API), declarations still go out
// once, HMRC's v1 answer (_embedded box and request) links the movement, v1 notifications are
// stored against it, and a rejected arrival can be resubmitted with PUT.
import { randomUUID } from 'node:crypto';
import { buildCC007A, buildCC015B } from '@ctc-hub/ncts-testkit';
import { waitFor } from '@ctc-hub/testing';
import { startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    CTC_API_VERSION: '1.0',
    HMRC_REQUEST_TIMEOUT_MS: '1500',
    SUBMIT_BACKOFF_BASE_MS: '200',
  });
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
});

async function send(method: 'POST' | 'PUT', path: string, xml: string) {
  const response = await fetch(`${e2e.stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${e2e.stack.apiKey}`, 'content-type': 'application/xml' },
    body: xml,
  });
  return { status: response.status, body: (await response.json()) as any };
}

const view = (id: string) => e2e.api(`/v1/submissions/${id}`).then((result) => result.body);

const waitForTypes = (id: string, types: string[]) =>
  waitFor(
    async () => {
      const body = await view(id);
      const seen = body.messages.map((message: { type: string }) => message.type);
      return types.every((type) => seen.includes(type)) ? body : undefined;
    },
    { timeoutMs: 20_000, what: `${types.join(', ')} on submission ${id}` },
  );

it('sends a CC015B, links the v1 box and request, and stores the v1 notifications that follow', async () => {
  const lrn = `LRN${randomUUID().slice(0, 8).toUpperCase()}`;
  const created = await send('POST', '/v1/departures', buildCC015B({ lrn, eori: traderEori }));
  expect(created.status).toBe(202);
  const done = await waitForTypes(created.body.submissionId, ['IE028', 'IE029']);
  expect(done).toMatchObject({ status: 'accepted', apiVersion: '1.0', messageType: 'IE015' });
  expect(done.movementId).toMatch(/^\d+$/);
  expect(done.requestId).toBe(`/customs/transits/movements/departures/${done.movementId}`);
  expect(done.boxId).toBeTruthy();
  expect(done.movement).toMatchObject({
    status: 'released',
    boxId: done.boxId,
    requestId: done.requestId,
  });

  const notifications = await e2e.testDb.db
    .selectFrom('notifications')
    .select(['payload_version', 'status'])
    .where('movement_id', '=', done.movementId)
    .execute();
  expect(notifications.length).toBeGreaterThanOrEqual(2);
  expect(
    notifications.every((row) => row.payload_version === 'v1' && row.status === 'stored'),
  ).toBe(true);
});

it('resubmits a rejected arrival with PUT and follows it to unloading permission', async () => {
  const rejected = await send(
    'POST',
    '/v1/arrivals',
    buildCC007A({ mrn: '21GBREJ00000000012', eori: traderEori }),
  );
  expect(rejected.status).toBe(202);
  const first = await waitForTypes(rejected.body.submissionId, ['IE008']);
  expect(first.movement.status).toBe('rejected');

  const corrected = await send(
    'PUT',
    `/v1/arrivals/${first.movementId}`,
    buildCC007A({ mrn: '21GB000000000001X', eori: traderEori }),
  );
  expect(corrected.status).toBe(202);
  const second = await waitForTypes(corrected.body.submissionId, ['IE043']);
  expect(second).toMatchObject({
    status: 'accepted',
    movementId: first.movementId,
    messageType: 'IE007',
  });
  expect(second.movement.status).not.toBe('rejected');
});

it('does not send a v1 declaration twice when HMRC stored it but the answer was lost', async () => {
  const lrn = `LRN${randomUUID().slice(0, 8).toUpperCase()}`;
  e2e.stack.sandbox!.controls.setFaults({
    api: { paths: '^/customs/transits/movements/departures$', acceptThenTimeoutRate: 1 },
  });
  const created = await send('POST', '/v1/departures', buildCC015B({ lrn, eori: traderEori }));
  await waitFor(
    async () => ((await view(created.body.submissionId)).attempts.length >= 1 ? true : undefined),
    {
      timeoutMs: 15_000,
      what: 'the lost first attempt',
    },
  );
  e2e.stack.sandbox!.controls.clearFaults();
  const done = await waitFor(
    async () => {
      const body = await view(created.body.submissionId);
      return body.status === 'accepted' ? body : undefined;
    },
    { timeoutMs: 20_000, what: 'accepted' },
  );
  expect(done.attempts.map((attempt: { outcome: string }) => attempt.outcome)).toEqual([
    'unknown',
    'found-at-hmrc',
  ]);
  const atHmrc = e2e.stack
    .sandbox!.controls.movements()
    .filter(
      (movement) =>
        movement.apiVersion === '1.0' && movement.type === 'departure' && movement.lrn === lrn,
    );
  expect(atHmrc).toHaveLength(1);
  expect(done.movementId).toBe(atHmrc[0]!.id);
});

describe('HMRC’s own 1.0 write paths (issue 12 §1)', () => {
  const compat = async (method: 'POST' | 'PUT', path: string, xml: string, accept: string) => {
    const response = await fetch(`${e2e.stack.apiUrl}/customs/transits/movements${path}`, {
      method,
      headers: {
        authorization: `Bearer ${e2e.stack.apiKey}`,
        'content-type': 'application/xml',
        accept,
      },
      body: xml,
    });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as any, text };
  };
  const v1 = 'application/vnd.hmrc.1.0+json';

  it('declares with Accept 1.0 and answers with HMRC’s v1 202 as HMRC sent it', async () => {
    const lrn = `LRN${randomUUID().slice(0, 8).toUpperCase()}`;
    const xml = buildCC015B({ lrn, eori: traderEori });
    const answer = await compat('POST', '/departures', xml, v1);
    expect(answer.status).toBe(202);
    const [movement] = e2e.stack
      .sandbox!.controls.movements()
      .filter((item) => item.apiVersion === '1.0' && item.lrn === lrn);
    const self = `/customs/transits/movements/departures/${movement!.id}`;
    expect(answer.body).toEqual({
      _links: { self: { href: self } },
      departureId: movement!.id,
      messageType: expect.any(String),
      body: xml,
      _embedded: {
        notifications: { requestId: self, boxId: expect.any(String), boxName: expect.any(String) },
      },
    });
  });

  it('refuses other versions on a 1.0 hub, and its own refusals are v1-shaped', async () => {
    const xml = buildCC015B({ eori: traderEori });
    const v21 = await compat('POST', '/departures', xml, 'application/vnd.hmrc.2.1+json');
    expect(v21).toMatchObject({
      status: 406,
      body: { statusCode: 406, message: 'Invalid version provided' },
    });
    const wrong = await compat('POST', '/departures', buildCC007A({ eori: traderEori }), v1);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ statusCode: 400, message: expect.stringMatching(/not a valid/) });
  });

  it('resubmits an arrival with PUT …/arrivals/{arrivalId}', async () => {
    const first = await compat(
      'POST',
      '/arrivals',
      buildCC007A({ mrn: '21GBREJ00000000034', eori: traderEori }),
      v1,
    );
    expect(first.status).toBe(202);
    const arrivalId = first.body.arrivalId as string;
    const again = await compat(
      'PUT',
      `/arrivals/${arrivalId}`,
      buildCC007A({ mrn: '21GB000000000003X', eori: traderEori }),
      v1,
    );
    expect(again.status).toBe(202);
    expect(again.body.arrivalId).toBe(arrivalId);
  });
});
