// Risk retired: one tenant denying Guarantee Balance to another. HMRC's lock is per user and GRN
// (reference §5), so our window must be per (EORI, GRN): one trader's check, a wrong access code
// included, must neither spend another trader's minute nor tell them that the GRN was checked,
// and an answer must never reach another EORI. And one API key must not fill the shared HMRC
// budget with checks: past its share it gets 429 and nothing is claimed. Whole stack, sandbox
// lock per user+GRN set to the same (shortened) window as ours.
import { randomBytes } from 'node:crypto';
import { createQueue, createRedis, queueNames } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectEori } from '../../scripts/stack.js';
import { startE2E, traderEori, type E2E } from './support.js';

const windowSeconds = 4;
const otherEori = 'GB987654321000';
/** Tenant A acts for traderEori, tenant B for otherEori. */
const keyA = 'key-of-tenant-a';
const keyB = 'key-of-tenant-b';
const maxInFlight = 2;

let e2e: E2E;
let redis: Redis;
let hmrcQueue: Queue;
beforeAll(async () => {
  e2e = await startE2E({
    GUARANTEE_BALANCE_WINDOW_SECONDS: String(windowSeconds),
    SANDBOX_BALANCE_LOCK_SECONDS: String(windowSeconds),
    GUARANTEE_BALANCE_MAX_IN_FLIGHT_PER_KEY: String(maxInFlight),
    API_KEYS: `dev-api-key,${keyA}:${traderEori},${keyB}:${otherEori}`,
  });
  await connectEori(e2e.stack, otherEori);
  redis = createRedis(e2e.redis.url, 'client');
  hmrcQueue = createQueue(queueNames.hmrc, redis, e2e.redis.prefix);
}, 60_000);
afterAll(async () => {
  await hmrcQueue?.resume().catch(() => undefined);
  await hmrcQueue?.close();
  redis?.disconnect();
  await e2e?.stop();
});

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function checkBalance(grn: string, accessCode: string, key: string): Promise<Answer> {
  const response = await fetch(`${e2e.stack.apiUrl}/v1/guarantees/${grn}/balance`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'x-trader-eori': key === keyB ? otherEori : traderEori,
    },
    body: JSON.stringify({ accessCode }),
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

function hmrcBalanceCalls(): number {
  let calls = 0;
  for (const [endpoint, byStatus] of Object.entries(e2e.stack.sandbox!.controls.stats().api)) {
    if (endpoint.includes('/customs/guarantees/'))
      for (const count of Object.values(byStatus)) calls += count;
  }
  return calls;
}

function freshGuarantee(accessCode: string, balance: number): string {
  const grn = `26GB${randomBytes(6).toString('hex').toUpperCase()}7`;
  e2e.stack.sandbox!.controls.upsertGuarantee(grn, { accessCode, balance, guaranteeType: '1' });
  return grn;
}

const checksOf = (grn: string) =>
  e2e.testDb.db
    .selectFrom('guarantee_checks')
    .select(['eori', 'api_key_id', 'status', 'outcome'])
    .where('grn', '=', grn)
    .orderBy('requested_at')
    .execute();

const lockRefusals = () => e2e.stack.sandbox!.controls.stats().throttled.balanceLock;

it("a wrong access code from one tenant does not spend another tenant's minute", async () => {
  const grn = freshGuarantee('GOOD', 700);
  const refusals = lockRefusals();

  // Tenant B guesses: HMRC answers 404 and B's own minute for this GRN is spent.
  const guess = await checkBalance(grn, 'BAD1', keyB);
  expect(guess.status).toBe(404);
  const calls = hmrcBalanceCalls();

  // The owner is not throttled, is told nothing about B's check, and HMRC does not refuse the
  // call either (its lock is per user and GRN too).
  const owner = await checkBalance(grn, 'GOOD', keyA);
  expect(owner.status).toBe(200);
  expect(owner.body).toMatchObject({ grn, balance: 700, source: 'hmrc' });
  expect(hmrcBalanceCalls()).toBe(calls + 1);
  expect(lockRefusals()).toBe(refusals);

  // B's own minute is spent, and B's 429 speaks only of B's own check.
  const again = await checkBalance(grn, 'BAD2', keyB);
  expect(again.status).toBe(429);
  expect(again.body).toEqual({ code: 'MESSAGE_THROTTLED_OUT', message: expect.any(String) });
  expect(again.body.message).toMatch(/this trader \(EORI\) made one/);
  expect((await checksOf(grn)).map((row) => [row.eori, row.outcome])).toEqual([
    [otherEori, 'not-found'],
    [traderEori, 'balance'],
  ]);
});

it('never serves one EORI the balance another EORI asked for', async () => {
  const grn = freshGuarantee('SHRD', 1500);
  expect((await checkBalance(grn, 'SHRD', keyA)).body.source).toBe('hmrc');
  const calls = hmrcBalanceCalls();

  // B knows the code too, but A's answer is A's: B's question goes to HMRC under B's authority.
  const other = await checkBalance(grn, 'SHRD', keyB);
  expect(other.status).toBe(200);
  expect(other.body).toMatchObject({ grn, balance: 1500, source: 'hmrc', ageSeconds: 0 });
  expect(hmrcBalanceCalls()).toBe(calls + 1);
  // While A still gets its own cached answer.
  expect((await checkBalance(grn, 'SHRD', keyA)).body.source).toBe('cache');
});

it('caps the checks one API key has waiting for HMRC, and spends no minute when refusing', async () => {
  const grns = [1, 2, 3].map((n) => freshGuarantee(`CAP${n}`, n * 100));
  const otherTenants = freshGuarantee('OTHR', 42);
  // Hold every check in the queue, as a backlog in front of HMRC would.
  await hmrcQueue.pause();
  try {
    const waiting = [checkBalance(grns[0]!, 'CAP1', keyA), checkBalance(grns[1]!, 'CAP2', keyA)];
    await waitFor(
      async () =>
        (
          await e2e.testDb.db
            .selectFrom('guarantee_checks')
            .select('id')
            .where('grn', 'in', grns)
            .execute()
        ).length === maxInFlight,
      { timeoutMs: 10_000 },
    );
    const calls = hmrcBalanceCalls();

    const refused = await checkBalance(grns[2]!, 'CAP3', keyA);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      code: 'KEY_LIMIT_REACHED',
      limit: 'guarantee-balance-checks-in-flight',
      max: maxInFlight,
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await checksOf(grns[2]!)).toEqual([]);

    // Another tenant's key has its own share.
    const fromB = checkBalance(otherTenants, 'OTHR', keyB);
    await waitFor(async () => (await checksOf(otherTenants)).length === 1, { timeoutMs: 10_000 });
    expect(hmrcBalanceCalls()).toBe(calls);

    await hmrcQueue.resume();
    const answers = await Promise.all([...waiting, fromB]);
    expect(answers.map((answer) => [answer.status, answer.body.balance])).toEqual([
      [200, 100],
      [200, 200],
      [200, 42],
    ]);
  } finally {
    await hmrcQueue.resume();
  }
  // The refusal claimed nothing: the GRN can be checked at once.
  const later = await checkBalance(grns[2]!, 'CAP3', keyA);
  expect(later.status).toBe(200);
  expect(later.body).toMatchObject({ balance: 300, source: 'hmrc' });
}, 30_000);
