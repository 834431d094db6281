// Risk retired: one tenant's backlog of declarations starving everyone else's. All declarations
// (and balance checks) share the application's 3 HMRC requests a second at the highest priority,
// ahead of message fetches, so a key with thousands queued delays every other tenant by minutes.
// Each key may have SUBMISSION_MAX_IN_FLIGHT_PER_KEY waiting; a new one beyond that is 429 and
// not stored, a repeat of an existing one is still answered, and other keys are unaffected. No
// worker runs here, so submissions stay queued.
import { eoriA, eoriB, keys, startTestApi, type TestApi } from '../test-support/api.js';
import { example, seedConnection } from '../test-support/seed.js';

const maxInFlight = 2;
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ SUBMISSION_MAX_IN_FLIGHT_PER_KEY: String(maxInFlight) });
  // Declarations are taken only for EORIs the hub can act for at HMRC.
  for (const eori of [eoriA, eoriB]) await seedConnection(api.db, eori);
});
afterAll(async () => {
  await api.close();
});

const ie015 = example('cc015c-valid.xml');

async function declare(key: string, eori: string, idempotencyKey: string) {
  const response = await fetch(`${api.baseUrl}/v1/departures`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/xml',
      'x-trader-eori': eori,
      'idempotency-key': idempotencyKey,
    },
    body: ie015,
  });
  const body: any = await response.json();
  return { status: response.status, body, headers: response.headers };
}

const stored = async () =>
  (await api.db.selectFrom('submissions').select('idempotency_key').execute())
    .map((row) => row.idempotency_key)
    .sort();

it("refuses a key's declaration beyond its share in flight, and only that key's", async () => {
  expect((await declare(keys.a, eoriA, 'a-1')).status).toBe(202);
  expect((await declare(keys.a, eoriA, 'a-2')).status).toBe(202);

  const refused = await declare(keys.a, eoriA, 'a-3');
  expect(refused.status).toBe(429);
  expect(refused.headers.get('retry-after')).toBe('10');
  expect(refused.body).toEqual({
    code: 'KEY_LIMIT_REACHED',
    message: expect.stringMatching(/already has 2 declarations waiting/),
    limit: 'submissions-in-flight',
    max: maxInFlight,
  });
  expect(await stored()).toEqual(['a-1', 'a-2']);

  // A repeat of one already accepted is answered as before: it adds no work.
  const repeat = await declare(keys.a, eoriA, 'a-1');
  expect(repeat.status).toBe(200);

  // Another key has its own share.
  expect((await declare(keys.b, eoriB, 'b-1')).status).toBe(202);

  // Once one has gone to HMRC, the key may send another.
  await api.db
    .updateTable('submissions')
    .set({ status: 'accepted' })
    .where('idempotency_key', '=', 'a-1')
    .execute();
  expect((await declare(keys.a, eoriA, 'a-3')).status).toBe(202);
});
