// Risk retired: a Guarantee Balance check breaking HMRC's one-request-per-minute-per-GRN rule
// (which HMRC enforces by refusing the GRN, failed requests included) or showing one trader's
// balance to another. Runs the whole stack against the sandbox, whose per-user+GRN lock is set
// to the same (shortened) window as ours.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startE2E, traderEori, type E2E } from './support.js';

const windowSeconds = 4;
const scopedKey = 'key-for-another-trader';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    GUARANTEE_BALANCE_WINDOW_SECONDS: String(windowSeconds),
    SANDBOX_BALANCE_LOCK_SECONDS: String(windowSeconds),
    API_KEYS: `dev-api-key,${scopedKey}:GB999999999999`,
  });
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
});

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

/** POST /v1/guarantees/{grn}/balance; `body` as a string is sent as is. */
async function checkBalance(
  grn: string,
  body: unknown,
  options: { eori?: string | null; key?: string } = {},
): Promise<Answer> {
  const eori = options.eori === undefined ? traderEori : options.eori;
  const response = await fetch(`${e2e.stack.apiUrl}/v1/guarantees/${grn}/balance`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.key ?? e2e.stack.apiKey}`,
      'content-type': 'application/json',
      ...(eori === null ? {} : { 'x-trader-eori': eori }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

/** Requests HMRC's (the sandbox's) Guarantee Balance endpoint has answered so far. */
function hmrcBalanceCalls(): number {
  let calls = 0;
  for (const [endpoint, byStatus] of Object.entries(e2e.stack.sandbox!.controls.stats().api)) {
    if (endpoint.includes('/customs/guarantees/'))
      for (const count of Object.values(byStatus)) calls += count;
  }
  return calls;
}

/** A GRN nobody has checked yet, known to the sandbox with this code and balance. */
function freshGuarantee(accessCode: string, balance: number, guaranteeType = '1'): string {
  const grn = `26GB${randomBytes(6).toString('hex').toUpperCase()}7`;
  e2e.stack.sandbox!.controls.upsertGuarantee(grn, { accessCode, balance, guaranteeType });
  return grn;
}

const historyOf = (grn: string) =>
  e2e.testDb.db
    .selectFrom('guarantee_checks')
    .selectAll()
    .where('grn', '=', grn)
    .orderBy('requested_at')
    .execute();

const retryAfter = (answer: Answer) => Number(answer.headers.get('retry-after'));

it('answers with the balance of a seeded guarantee, straight from HMRC', async () => {
  const calls = hmrcBalanceCalls();
  const before = Date.now();
  const answer = await checkBalance('24GB0000010000001', { accessCode: 'AC01' });
  expect(answer.status).toBe(200);
  expect(answer.body).toEqual({
    grn: '24GB0000010000001',
    balance: 25000,
    currency: 'GBP',
    checkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    ageSeconds: 0,
    source: 'hmrc',
  });
  expect(Date.parse(answer.body.checkedAt)).toBeGreaterThanOrEqual(before - 1000);
  expect(answer.headers.get('cache-control')).toBe('no-store');
  expect(hmrcBalanceCalls()).toBe(calls + 1);

  const [row] = await historyOf('24GB0000010000001');
  expect(row).toMatchObject({
    eori: traderEori,
    status: 'completed',
    outcome: 'balance',
    balance: '25000',
    currency: 'GBP',
    hmrc_status: 200,
    error_code: null,
  });
  expect(row!.completed_at!.toISOString()).toBe(answer.body.checkedAt);
  // Only a keyed hash of the access code is kept: not the code, nor a plain hash of it.
  expect(row!.access_code_hmac).toHaveLength(32);
  expect(JSON.stringify(row)).not.toMatch(/AC01/i);
  // Nor does the code linger in Redis once the worker took it.
  const redis = new Redis(e2e.redis.url);
  try {
    expect(await redis.keys(`${e2e.redis.prefix}:guarantee-access-code:*`)).toEqual([]);
  } finally {
    redis.disconnect();
  }
});

it('answers a repeat within the minute from cache, with its age, without calling HMRC', async () => {
  const grn = freshGuarantee('QW12', 1234567.89);
  const first = await checkBalance(grn, { accessCode: 'QW12' });
  expect(first.body).toMatchObject({ balance: 1234567.89, source: 'hmrc' });
  const calls = hmrcBalanceCalls();

  await new Promise((resolve) => setTimeout(resolve, 1100));
  // HMRC treats the code as case-insensitive; so do we.
  const again = await checkBalance(grn, { accessCode: 'qw12' });
  expect(again.status).toBe(200);
  expect(again.body).toEqual({
    grn,
    balance: 1234567.89,
    currency: 'GBP',
    checkedAt: first.body.checkedAt,
    ageSeconds: expect.any(Number),
    source: 'cache',
  });
  expect(again.body.ageSeconds).toBeGreaterThanOrEqual(1);
  expect(again.body.ageSeconds).toBeLessThan(windowSeconds);
  expect(again.headers.get('age')).toBe(String(again.body.ageSeconds));
  expect(hmrcBalanceCalls()).toBe(calls);
  expect(await historyOf(grn)).toHaveLength(1);
});

// Another EORI has a minute of its own (HMRC's lock is per user and GRN): guarantee-fairness.
it('answers 429 with Retry-After to another access code within the minute', async () => {
  const grn = freshGuarantee('ZX34', 500);
  expect((await checkBalance(grn, { accessCode: 'ZX34' })).status).toBe(200);
  const calls = hmrcBalanceCalls();

  for (const accessCode of ['ZX35', 'zx36']) {
    const answer = await checkBalance(grn, { accessCode });
    expect(answer.status).toBe(429);
    expect(answer.body).toEqual({ code: 'MESSAGE_THROTTLED_OUT', message: expect.any(String) });
    expect(answer.body.message).toMatch(/one balance request per minute/);
    expect(JSON.stringify(answer.body)).not.toMatch(/500/);
    expect(retryAfter(answer)).toBeGreaterThanOrEqual(1);
    expect(retryAfter(answer)).toBeLessThanOrEqual(windowSeconds);
  }
  expect(hmrcBalanceCalls()).toBe(calls);
  expect(await historyOf(grn)).toHaveLength(1);
});

it('calls HMRC again once the window has passed', async () => {
  const grn = freshGuarantee('RT56', 100);
  expect((await checkBalance(grn, { accessCode: 'RT56' })).body.source).toBe('hmrc');
  e2e.stack.sandbox!.controls.upsertGuarantee(grn, { accessCode: 'RT56', balance: 75 });
  const throttled = await checkBalance(grn, { accessCode: 'RT57' });
  expect(throttled.status).toBe(429);
  const calls = hmrcBalanceCalls();

  await new Promise((resolve) => setTimeout(resolve, retryAfter(throttled) * 1000 + 100));
  const later = await checkBalance(grn, { accessCode: 'RT56' });
  expect(later.status).toBe(200);
  expect(later.body).toMatchObject({ balance: 75, source: 'hmrc', ageSeconds: 0 });
  // One call, and the sandbox's own per-GRN lock did not refuse it.
  expect(hmrcBalanceCalls()).toBe(calls + 1);
  expect(e2e.stack.sandbox!.controls.stats().throttled.balanceLock).toBe(0);
  expect((await historyOf(grn)).map((row) => row.outcome)).toEqual(['balance', 'balance']);
}, 20_000);

it.each([
  ['a malformed GRN', '24gb0000010000001', { accessCode: 'AC01' }, /guarantee reference number/],
  ['a GRN of the wrong length', '24GB000001000001', { accessCode: 'AC01' }, /guarantee reference/],
  [
    'a 3-character access code',
    '24GB0000010000001',
    { accessCode: 'AC0' },
    /four letters or digits/,
  ],
  ['a 5-character access code', '24GB0000010000001', { accessCode: 'AC011' }, /four letters/],
  ['a non-alphanumeric code', '24GB0000010000001', { accessCode: 'AC-1' }, /four letters/],
  ['a numeric access code', '24GB0000010000001', { accessCode: 1234 }, /four letters/],
  ['no access code', '24GB0000010000001', {}, /access code was not supplied/],
  ['a body that is not JSON', '24GB0000010000001', '{"accessCode": ', /not valid JSON/],
  ['a JSON array', '24GB0000010000001', '["AC01"]', /JSON object/],
  ['an empty body', '24GB0000010000001', '', /must be JSON/],
])('answers 400 to %s without calling HMRC', async (_, grn, body, message) => {
  const calls = hmrcBalanceCalls();
  const checks = (await e2e.testDb.db.selectFrom('guarantee_checks').select('id').execute()).length;
  const answer = await checkBalance(grn, body);
  expect(answer.status).toBe(400);
  expect(answer.body).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(message) });
  expect(hmrcBalanceCalls()).toBe(calls);
  expect(await e2e.testDb.db.selectFrom('guarantee_checks').select('id').execute()).toHaveLength(
    checks,
  );
});

it('answers 400 without an X-Trader-EORI header, or with a malformed one', async () => {
  const calls = hmrcBalanceCalls();
  const missing = await checkBalance('24GB0000020000002', { accessCode: 'AC02' }, { eori: null });
  expect(missing.status).toBe(400);
  expect(missing.body.message).toMatch(/X-Trader-EORI header is required/);
  const malformed = await checkBalance('24GB0000020000002', { accessCode: 'AC02' }, { eori: 'G' });
  expect(malformed.status).toBe(400);
  expect(hmrcBalanceCalls()).toBe(calls);
});

it('answers 404 for an unknown guarantee and treats the minute as spent', async () => {
  const grn = `26GB${randomBytes(6).toString('hex').toUpperCase()}3`;
  const calls = hmrcBalanceCalls();
  const answer = await checkBalance(grn, { accessCode: 'NO01' });
  expect(answer.status).toBe(404);
  expect(answer.body).toEqual({
    code: 'NOT_FOUND',
    message: 'The guarantee reference number or access code did not match an existing guarantee.',
  });
  expect(hmrcBalanceCalls()).toBe(calls + 1);

  const again = await checkBalance(grn, { accessCode: 'NO01' });
  expect(again.status).toBe(429);
  expect(retryAfter(again)).toBeGreaterThanOrEqual(1);
  expect(hmrcBalanceCalls()).toBe(calls + 1);
  expect(await historyOf(grn)).toMatchObject([
    { outcome: 'not-found', hmrc_status: 404, balance: null },
  ]);
});

it('answers 400 INVALID_GUARANTEE_TYPE for a guarantee type HMRC cannot check', async () => {
  const answer = await checkBalance('24GB0000040000004', { accessCode: 'AC04' });
  expect(answer.status).toBe(400);
  expect(answer.body).toEqual({
    code: 'INVALID_GUARANTEE_TYPE',
    message: expect.stringMatching(/types 0 .*1 .*and 9/),
  });
  expect(await historyOf('24GB0000040000004')).toMatchObject([
    { outcome: 'invalid-guarantee-type', hmrc_status: 400, error_code: 'INVALID_GUARANTEE_TYPE' },
  ]);
});

it('makes exactly one HMRC call for five simultaneous requests and gives all five the balance', async () => {
  const grn = freshGuarantee('CC77', 4321.5, '9');
  const calls = hmrcBalanceCalls();
  const answers = await Promise.all(
    Array.from({ length: 5 }, () => checkBalance(grn, { accessCode: 'CC77' })),
  );
  expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
  expect(answers.map((answer) => answer.body.source).sort()).toEqual([
    'cache',
    'cache',
    'cache',
    'cache',
    'hmrc',
  ]);
  for (const answer of answers) {
    expect(answer.body).toMatchObject({ grn, balance: 4321.5, currency: 'GBP' });
    expect(answer.body.checkedAt).toBe(answers[0]!.body.checkedAt);
  }
  expect(hmrcBalanceCalls()).toBe(calls + 1);
  expect(await historyOf(grn)).toHaveLength(1);
});

it('answers 403 when the API key may not act for the EORI, without calling HMRC', async () => {
  const calls = hmrcBalanceCalls();
  const answer = await checkBalance(
    '24XI0000030000003',
    { accessCode: 'AC03' },
    { key: scopedKey },
  );
  expect(answer.status).toBe(403);
  expect(answer.body).toEqual({
    code: 'FORBIDDEN',
    message: `This API key may not check guarantee balances for EORI ${traderEori}`,
  });
  expect(hmrcBalanceCalls()).toBe(calls);
});

it('answers 409 for an EORI nobody connected, and leaves the minute unspent', async () => {
  const calls = hmrcBalanceCalls();
  const answer = await checkBalance(
    '24XI0000030000003',
    { accessCode: 'AC03' },
    { eori: 'GB111111111111' },
  );
  expect(answer.status).toBe(409);
  expect(answer.body).toEqual({
    code: 'EORI_NOT_CONNECTED',
    message: expect.stringContaining('/oauth/hmrc/start?eori=GB111111111111'),
    eori: 'GB111111111111',
    reason: 'not-connected',
    _links: { connect: { href: '/oauth/hmrc/start?eori=GB111111111111' } },
  });
  expect(hmrcBalanceCalls()).toBe(calls);

  const connected = await checkBalance('24XI0000030000003', { accessCode: 'AC03' });
  expect(connected.status).toBe(200);
  expect(connected.body).toMatchObject({ balance: 500.5, currency: 'EUR', source: 'hmrc' });
});

it('asks HMRC for the guarantee-balance scope when an EORI is connected', async () => {
  const start = await fetch(`${e2e.stack.apiUrl}/oauth/hmrc/start?eori=${traderEori}`, {
    headers: { authorization: `Bearer ${e2e.stack.apiKey}` },
    redirect: 'manual',
  });
  expect(start.status).toBe(302);
  const scope = new URL(start.headers.get('location')!).searchParams.get('scope');
  expect(scope?.split(' ').sort()).toEqual([
    'common-transit-convention-guarantee-balance',
    'common-transit-convention-traders',
  ]);
});
