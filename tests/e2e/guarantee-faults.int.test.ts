// Risk retired: HMRC failing a Guarantee Balance call (5xx, no answer in time, 429, a refused
// token) and the client being left hanging, told to retry into a spent minute, or the hub
// calling HMRC again for the same GRN within the minute.
import { randomBytes } from 'node:crypto';
import { waitFor } from '@ctc-hub/testing';
import { refreshCount, startE2E, traderEori, type E2E } from './support.js';
import { finishConnect, signInAtSandbox, startConnect } from '../../scripts/stack.js';

const windowSeconds = 15;
// Long enough for a token refresh and a second paced call on a loaded 2-core machine.
const timeoutMs = 4000;

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    GUARANTEE_BALANCE_WINDOW_SECONDS: String(windowSeconds),
    SANDBOX_BALANCE_LOCK_SECONDS: String(windowSeconds),
    GUARANTEE_BALANCE_TIMEOUT_MS: String(timeoutMs),
  });
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
});
afterEach(() => e2e.stack.sandbox!.controls.clearFaults());

const sandbox = () => e2e.stack.sandbox!.controls;

async function checkBalance(grn: string, accessCode: string, eori = traderEori) {
  const response = await fetch(`${e2e.stack.apiUrl}/v1/guarantees/${grn}/balance`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${e2e.stack.apiKey}`,
      'content-type': 'application/json',
      'x-trader-eori': eori,
    },
    body: JSON.stringify({ accessCode }),
  });
  return {
    status: response.status,
    body: (await response.json()) as any,
    retryAfter: Number(response.headers.get('retry-after')),
  };
}

/**
 * Guarantee Balance requests the sandbox answered, by status. Injected faults are answered
 * before routing, so they are counted under "(no route)"; nothing else here goes unrouted.
 */
function balanceCalls(): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const [endpoint, byStatus] of Object.entries(sandbox().stats().api)) {
    if (!endpoint.includes('/customs/guarantees/') && !endpoint.includes('(no route)')) continue;
    for (const [status, count] of Object.entries(byStatus))
      calls[status] = (calls[status] ?? 0) + count;
  }
  return calls;
}
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

function freshGuarantee(accessCode: string, balance: number): string {
  const grn = `27GB${randomBytes(6).toString('hex').toUpperCase()}1`;
  sandbox().upsertGuarantee(grn, { accessCode, balance });
  return grn;
}

const historyOf = (grn: string) =>
  e2e.testDb.db.selectFrom('guarantee_checks').selectAll().where('grn', '=', grn).execute();

it('answers 502 when HMRC fails, and counts the minute as spent', async () => {
  const grn = freshGuarantee('EE01', 10);
  sandbox().setFaults({
    api: { paths: '^/customs/guarantees/', errorRate: 1, errorStatuses: [503] },
  });
  const before = total(balanceCalls());

  const answer = await checkBalance(grn, 'EE01');
  expect(answer.status).toBe(502);
  expect(answer.body).toEqual({ code: 'BAD_GATEWAY', message: expect.any(String) });
  expect(answer.body.message).toMatch(/HTTP 503/);
  expect(answer.body.message).toMatch(/one request per minute/);
  expect(answer.retryAfter).toBeGreaterThan(windowSeconds - 3);
  expect(answer.retryAfter).toBeLessThanOrEqual(windowSeconds);

  sandbox().clearFaults();
  const again = await checkBalance(grn, 'EE01');
  expect(again.status).toBe(429);
  expect(again.body.code).toBe('MESSAGE_THROTTLED_OUT');
  expect(total(balanceCalls())).toBe(before + 1);
  expect(await historyOf(grn)).toMatchObject([{ outcome: 'hmrc-unavailable', hmrc_status: 503 }]);
});

it('answers 504 when HMRC is slower than the timeout, then serves the late answer from cache', async () => {
  const grn = freshGuarantee('SL02', 987.65);
  sandbox().setFaults({ api: { paths: '^/customs/guarantees/', latencyMs: timeoutMs * 2 } });
  const before = total(balanceCalls());

  const started = Date.now();
  const answer = await checkBalance(grn, 'SL02');
  expect(answer.status).toBe(504);
  expect(answer.body).toEqual({
    code: 'GATEWAY_TIMEOUT',
    message: expect.stringMatching(
      new RegExp(`within ${timeoutMs} ms.*ask again with the same EORI and access code`),
    ),
    checkId: expect.stringMatching(/^[0-9a-f-]{36}$/),
  });
  expect(Date.now() - started).toBeLessThan(timeoutMs * 2);

  // The check goes on and lands in the history.
  await waitFor(async () => (await historyOf(grn))[0]?.status === 'completed' || undefined, {
    timeoutMs: timeoutMs * 4,
    what: 'the late balance',
  });
  const again = await checkBalance(grn, 'SL02');
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ grn, balance: 987.65, source: 'cache' });
  expect(total(balanceCalls())).toBe(before + 1);
}, 40_000);

it('answers 429 with Retry-After when HMRC throttles, and does not call again', async () => {
  const grn = freshGuarantee('TH03', 1);
  sandbox().setFaults({
    api: { paths: '^/customs/guarantees/', throttleRate: 1, retryAfterSeconds: 1 },
  });
  const before = total(balanceCalls());
  const answer = await checkBalance(grn, 'TH03');
  expect(answer.status).toBe(429);
  expect(answer.body).toEqual({
    code: 'MESSAGE_THROTTLED_OUT',
    message: expect.stringMatching(/HMRC refused the balance request as throttled/),
  });
  expect(answer.retryAfter).toBeGreaterThanOrEqual(1);

  sandbox().clearFaults();
  const again = await checkBalance(grn, 'TH03');
  expect(again.status).toBe(429);
  expect(total(balanceCalls())).toBe(before + 1);
  expect(await historyOf(grn)).toMatchObject([{ outcome: 'throttled', hmrc_status: 429 }]);
});

it('refreshes a token HMRC refused (401) once and retries within the same check', async () => {
  const grn = freshGuarantee('TK04', 42);
  const refreshes = () => refreshCount(e2e, traderEori);
  const refreshedBefore = await refreshes();
  const before = balanceCalls();
  // HMRC forgets every access token; ours still looks valid for hours.
  sandbox().expireAccessTokens();

  const answer = await checkBalance(grn, 'TK04');
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ grn, balance: 42, source: 'hmrc' });
  const after = balanceCalls();
  expect((after['401'] ?? 0) - (before['401'] ?? 0)).toBe(1);
  expect((after['200'] ?? 0) - (before['200'] ?? 0)).toBe(1);
  expect(await refreshes()).toBe(refreshedBefore + 1);
});

it('answers 409 when the stored authority lacks the guarantee-balance scope, without spending the minute', async () => {
  // A trader connected before the hub asked for the guarantee scope: the connect flow as it
  // was, granting only the traders scope.
  const eori = 'GB222222222222';
  const started = await startConnect(e2e.stack, eori);
  const authorize = new URL(started.authorizeUrl);
  authorize.searchParams.set('scope', 'common-transit-convention-traders');
  const back = await signInAtSandbox(authorize.toString(), eori);
  const connected = await finishConnect(e2e.stack, back, started.cookie);
  expect(connected.body).toMatchObject({
    connected: true,
    scope: 'common-transit-convention-traders',
  });
  const grn = freshGuarantee('SC05', 7);
  const before = balanceCalls();

  const answer = await checkBalance(grn, 'SC05', eori);
  expect(answer.status).toBe(409);
  expect(answer.body).toEqual({
    code: 'EORI_NOT_AUTHORISED',
    message: expect.stringContaining(`/oauth/hmrc/start?eori=${eori}`),
  });
  expect(answer.body.message).toMatch(/INVALID_SCOPE/);
  // Refused before HMRC's per-GRN lock: the first try and the one after a refresh.
  expect((balanceCalls()['401'] ?? 0) - (before['401'] ?? 0)).toBe(2);
  // The minute is not spent: the trader who holds the right authority can check at once.
  const rightTrader = await checkBalance(grn, 'SC05');
  expect(rightTrader.status).toBe(200);
  expect(rightTrader.body).toMatchObject({ balance: 7, source: 'hmrc' });
});
