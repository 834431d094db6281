// Risk retired: one API key taking most of the replay budget. Running replays share
// REPLAY_RATE_PER_SECOND in equal turns, so a key that may start any number of them starves
// every other key's replay. Each key may have REPLAY_MAX_RUNNING_PER_KEY running; the next one,
// single or bulk, is 429 (audited as refused), and other keys keep their own share. No worker
// runs here, so replays stay running.
import { randomUUID } from 'node:crypto';
import { eoriA, eoriB, keys, startTestApi, type TestApi } from '../test-support/api.js';
import { seedDeadLetter } from '../test-support/seed.js';

const maxRunning = 2;
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ REPLAY_MAX_RUNNING_PER_KEY: String(maxRunning) });
});
afterAll(async () => {
  await api.close();
});

async function call(path: string, request: unknown, key: string) {
  const response = await fetch(`${api.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  const body: any = await response.json();
  return { status: response.status, body, headers: response.headers };
}

const letter = (eori: string, errorCode = 'XML_INVALID') =>
  seedDeadLetter(api.db, {
    kind: 'notification',
    errorCode,
    errorMessage: 'XML is not well-formed',
    payload: { envelope: '{"notificationId":"x"}' },
    notificationId: randomUUID(),
    createdAt: new Date(Date.now() - 60_000),
    eori,
  });

const refusals = () =>
  api.db
    .selectFrom('audit_log')
    .select(['action', 'outcome', 'details'])
    .where('outcome', '=', 'refused')
    .orderBy('id')
    .execute();

it('refuses a replay beyond the key’s share of running replays, single or bulk, and only that key', async () => {
  for (let index = 0; index < maxRunning; index += 1) {
    const started = await call(`/v1/dead-letters/${await letter(eoriA)}/replay`, {}, keys.a);
    expect(started.status).toBe(202);
  }

  const single = await call(`/v1/dead-letters/${await letter(eoriA)}/replay`, {}, keys.a);
  expect(single.status).toBe(429);
  expect(single.headers.get('retry-after')).toBe('5');
  expect(single.body).toEqual({
    code: 'KEY_LIMIT_REACHED',
    message: expect.stringMatching(/already has 2 replays running/),
    limit: 'replays-running',
    max: maxRunning,
  });

  // A bulk replay: the dry run is fine (it starts nothing), the confirmed call is refused.
  await letter(eoriA, 'BULK_CASE');
  const dryRun = await call(
    '/v1/dead-letters/replay',
    { dryRun: true, errorCode: 'BULK_CASE' },
    keys.a,
  );
  expect(dryRun.status).toBe(200);
  const bulk = await call(
    '/v1/dead-letters/replay',
    { errorCode: 'BULK_CASE', confirmation: dryRun.body.confirmation },
    keys.a,
  );
  expect(bulk.status).toBe(429);
  expect(bulk.body.code).toBe('KEY_LIMIT_REACHED');

  expect(await refusals()).toEqual([
    {
      action: 'dead-letter.replay',
      outcome: 'refused',
      details: { code: 'KEY_LIMIT_REACHED', maxRunning },
    },
    {
      action: 'dead-letter.replay.bulk',
      outcome: 'refused',
      details: { code: 'KEY_LIMIT_REACHED', maxRunning },
    },
  ]);
  // Nothing was created for the refused ones.
  const replays = await api.db.selectFrom('replays').select('id').execute();
  expect(replays).toHaveLength(maxRunning);

  // Another key has its own share.
  const other = await call(`/v1/dead-letters/${await letter(eoriB)}/replay`, {}, keys.b);
  expect(other.status).toBe(202);

  // Once one of the key's replays is over, it may start another.
  await api.db
    .updateTable('replays')
    .set({ status: 'done' })
    .where('id', '=', replays[0]!.id)
    .execute();
  const again = await call(
    '/v1/dead-letters/replay',
    { errorCode: 'BULK_CASE', confirmation: dryRun.body.confirmation },
    keys.a,
  );
  expect(again.status).toBe(202);
});
