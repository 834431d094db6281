// Risk retired: /ops showing three declarations retrying for minutes as "hmrc delayed 3, oldest
// waiting 0 s": no verdict, no cause, no word on the trader whose token HMRC refuses or what to do.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { keys, startTestApi, type TestApi } from '../test-support/api.js';
import { seedConnection, seedNotification } from '../test-support/seed.js';

let api: TestApi;
const broken = 'GB000000000777';
const cause =
  'no usable HMRC token for GB000000000777: HMRC refused the refresh token (invalid_grant): connect this EORI again';

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

const opsData = async () => {
  const response = await fetch(`${api.baseUrl}/ops/data`, {
    headers: { authorization: `Bearer ${keys.all}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as any;
};

/** /ops shares one collection among the requests of 2 s. */
const afterCache = () => new Promise((resolve) => setTimeout(resolve, 2100));

it('is healthy with nothing stuck, then names each stuck thing with its cause and fix', async () => {
  const healthy = await opsData();
  expect(healthy.verdict).toEqual({ level: 'healthy', reasons: [] });
  expect(healthy.ingestLatency).toEqual({ count: 0, p50Seconds: null, p99Seconds: null });

  // A trader whose refresh HMRC refused (a sandbox restart), and its declaration retrying.
  await seedConnection(api.db, broken);
  await api.db
    .updateTable('oauth_tokens')
    .set({ refresh_token: null, refresh_refused_at: new Date(), refresh_error: 'invalid_grant' })
    .where('subject', '=', broken)
    .execute();
  const submissionId = randomUUID();
  const attempt = (n: number) => ({
    attempt: n,
    at: new Date(Date.now() - (3 - n) * 60_000).toISOString(),
    durationMs: 5,
    httpStatus: null,
    outcome: 'no-token',
    error: cause,
  });
  await api.db
    .insertInto('submissions')
    .values({
      id: submissionId,
      eori: broken,
      api_key_id: 'abcd1234',
      body_sha256: Buffer.alloc(32, 1),
      movement_type: 'departure',
      message_type: 'IE015',
      lrn: 'LRNSTUCK0001',
      api_version: '2.1',
      route: 'small',
      size_bytes: 10,
      body: Buffer.from('<x/>'),
      attempts: JSON.stringify([attempt(1), attempt(2)]),
      attempt_count: 2,
      created_at: sql<Date>`now() - interval '4 minutes'`,
    })
    .execute();
  await api.db
    .insertInto('dead_letters')
    .values({
      dedupe_key: `submit:${randomUUID()}`,
      kind: 'submit',
      error_code: 'NO_TOKEN',
      error_message: `gave up after 6 attempts: ${cause}`,
      payload: '{}',
      eori: broken,
    })
    .execute();
  // Ten pushes stored in the last hour, 0.1 s to 1.0 s after we received them.
  for (let i = 1; i <= 10; i += 1) {
    const receivedAt = new Date(Date.now() - 600_000 + i * 1000);
    await seedNotification(api.db, {
      notificationId: randomUUID(),
      status: 'stored',
      createdAt: new Date(receivedAt.getTime() - 50),
      receivedAt,
      processedAt: new Date(receivedAt.getTime() + i * 100),
    });
  }
  await afterCache();

  const data = await opsData();
  expect(data.verdict.level).toBe('degraded');
  const reasons = data.verdict.reasons.map((reason: { text: string }) => reason.text);
  expect(reasons).toEqual(
    expect.arrayContaining([
      expect.stringMatching(
        /^1 declaration retrying; the oldest for 4 min \(GB000000000777: no-token: no usable HMRC token.*invalid_grant/,
      ),
      expect.stringContaining(`1 trader cannot be served until someone acts (${broken})`),
      expect.stringContaining('Dead letters filed in the last hour: NO_TOKEN (submit)'),
    ]),
  );
  expect(data.submissions.counts).toMatchObject({ retrying: 1, queued: 0, failedLastHour: 0 });
  expect(data.submissions.stuck).toEqual([
    expect.objectContaining({
      submissionId,
      eori: broken,
      state: 'retrying',
      attempts: 2,
      cause: `no-token: ${cause}`,
    }),
  ]);
  expect(data.submissions.stuck[0].ageSeconds).toBeGreaterThanOrEqual(240);
  expect(data.traders.listed).toEqual([
    expect.objectContaining({
      eori: broken,
      tokenState: 'refresh-failed',
      severity: 'action',
      href: `/oauth/hmrc/start?eori=${broken}`,
    }),
  ]);
  expect(data.deadLetters.byCode).toEqual([
    expect.objectContaining({ kind: 'submit', errorCode: 'NO_TOKEN', count: 1 }),
  ]);
  expect(data.ingestLatency.count).toBe(10);
  expect(data.ingestLatency.p50Seconds).toBeCloseTo(0.55, 2);
  expect(data.ingestLatency.p99Seconds).toBeCloseTo(0.991, 2);

  // The page says the same, with the link that fixes it.
  const page = await fetch(`${api.baseUrl}/ops`, {
    headers: { authorization: `Bearer ${keys.all}` },
  });
  const html = await page.text();
  expect(html).toContain('data-level="degraded"');
  expect(html).toMatch(new RegExp(`<tr data-submission="${submissionId}" data-state="retrying">`));
  expect(html).toContain(
    `<a class="action" href="/oauth/hmrc/start?eori=${broken}">Reconnect ${broken}</a>`,
  );
  expect(html).toContain('id="latency-p99">0.99 s<');
});
