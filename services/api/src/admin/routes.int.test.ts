// Risk retired: operator pages leak every trader's queues to a key limited to some EORIs, cannot
// be opened in a browser (no Bearer header), let a read-only board change jobs, or show numbers
// that are not what Redis and PostgreSQL hold.
import { pacerKey, RatePacer, spacingFor } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { keys, startTestApi, type TestApi } from '../test-support/api.js';

let api: TestApi;
let writable: TestApi;
let connection: Redis;

const basic = (password: string, user = 'ops') =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const request = (
  target: TestApi,
  path: string,
  init: { authorization?: string; method?: string; headers?: Record<string, string> } = {},
) =>
  fetch(`${target.baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.authorization === undefined ? {} : { authorization: init.authorization }),
      ...init.headers,
    },
  });

/** A job that failed for good in `target`'s ops queue (bull-board's retry/clean act on these). */
async function failedJob(target: TestApi): Promise<string> {
  const queue = new Queue('ops', { connection, prefix: target.prefix });
  const blocking = connection.duplicate();
  const worker = new Worker(
    'ops',
    async () => {
      throw new Error('seeded failure');
    },
    { connection: blocking, prefix: target.prefix },
  );
  try {
    const job = await queue.add('seeded', {}, { attempts: 1 });
    await waitFor(async () => (await job.getState()) === 'failed', { what: 'seeded job failed' });
    return job.id!;
  } finally {
    await worker.close();
    await queue.close();
    // BullMQ does not close connections it was given.
    blocking.disconnect();
  }
}

const stateOf = async (target: TestApi, jobId: string) => {
  const queue = new Queue('ops', { connection, prefix: target.prefix });
  try {
    return await (await queue.getJob(jobId))?.getState();
  } finally {
    await queue.close();
  }
};

beforeAll(async () => {
  [api, writable] = await Promise.all([
    startTestApi(),
    startTestApi({ ADMIN_QUEUE_WRITE: 'true' }),
  ]);
  connection = new Redis(process.env.CTC_TEST_REDIS_URL!, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  connection?.disconnect();
  await Promise.all([api?.close(), writable?.close()]);
});

describe('admin authentication', () => {
  it.each(['/admin/queues', '/ops', '/ops/data'])(
    'asks a browser to sign in with Basic on %s',
    async (path) => {
      const response = await request(api, path);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="ctc-hub operations"/);
      const wrong = await request(api, path, { authorization: basic('not-a-key') });
      expect(wrong.status).toBe(401);
    },
  );

  it('refuses a key limited to some EORIs, as Basic or Bearer (403)', async () => {
    for (const authorization of [basic(keys.a), `Bearer ${keys.a}`]) {
      const board = await request(api, '/admin/queues', { authorization });
      expect(board.status).toBe(403);
      expect(((await board.json()) as { code: string }).code).toBe('FORBIDDEN');
      expect((await request(api, '/ops/data', { authorization })).status).toBe(403);
    }
  });

  it('opens bull-board with Basic (any user name) and with Bearer', async () => {
    for (const authorization of [basic(keys.all), basic(keys.all, ''), `Bearer ${keys.all}`]) {
      const page = await request(api, '/admin/queues', { authorization });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const html = await page.text();
      expect(html).toContain('<base href="/admin/queues/"');
      // Nothing is loaded from elsewhere: bull-board's Google Fonts link is stripped.
      expect(html).not.toMatch(/https?:\/\//);
      // The UI's own bundle is served under the same path and authentication.
      const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(html)![1]!;
      const asset = await request(api, `/admin/queues/${script}`, { authorization });
      expect([asset.status, asset.headers.get('content-type')]).toEqual([
        200,
        expect.stringMatching(/javascript/),
      ]);
    }
    const listed = await request(api, '/admin/queues/api/queues', {
      authorization: basic(keys.all),
    });
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as {
      queues: { name: string; readOnlyMode: boolean }[];
    };
    expect(body.queues.map((queue: { name: string }) => queue.name).sort()).toEqual([
      'hmrc',
      'ingest',
      'ops',
    ]);
    expect(body.queues.every((queue: { readOnlyMode: boolean }) => queue.readOnlyMode)).toBe(true);
  });
});

describe('bull-board write access', () => {
  it('is read-only by default: retry and clean are refused and the job stays failed', async () => {
    const jobId = await failedJob(api);
    const authorization = basic(keys.all);
    const retry = await request(api, '/admin/queues/api/queues/ops/retry/failed', {
      method: 'PUT',
      authorization,
    });
    expect(retry.status).toBe(405);
    const clean = await request(api, '/admin/queues/api/queues/ops/clean/failed', {
      method: 'PUT',
      authorization,
    });
    expect(clean.status).toBe(405);
    expect(await stateOf(api, jobId)).toBe('failed');
  });

  it('retries with ADMIN_QUEUE_WRITE=true, but never on a cross-site request', async () => {
    const jobId = await failedJob(writable);
    const authorization = basic(keys.all);
    const forged = await request(writable, '/admin/queues/api/queues/ops/retry/failed', {
      method: 'PUT',
      authorization,
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(forged.status).toBe(403);
    expect(await stateOf(writable, jobId)).toBe('failed');

    const retry = await request(writable, '/admin/queues/api/queues/ops/retry/failed', {
      method: 'PUT',
      authorization,
      headers: { 'sec-fetch-site': 'same-origin' },
    });
    expect(retry.status).toBe(200);
    expect(await stateOf(writable, jobId)).toBe('waiting');
  });
});

describe('/ops', () => {
  beforeAll(async () => {
    const letter = (kind: string, status: string, key: string) => ({
      dedupe_key: key,
      kind,
      error_code: 'TEST',
      error_message: 'seeded',
      payload: '{}',
      status: status as 'open',
    });
    await api.db
      .insertInto('dead_letters')
      .values([
        letter('notification', 'open', 'n1'),
        letter('fetch-message', 'open', 'f1'),
        letter('fetch-message', 'resolved', 'f2'),
      ])
      .execute();
    // Four messages stored a minute ago, one three minutes ago; other events do not count.
    const event = (kind: string, secondsAgo: number) => ({
      kind,
      data: '{}',
      created_at: new Date(Date.now() - secondsAgo * 1000),
    });
    await api.db
      .insertInto('events')
      .values([
        ...Array.from({ length: 4 }, () => event('message.received', 60)),
        event('message.received', 180),
        event('movement.created', 60),
        event('message.received', 2 * 3600),
      ] as never)
      .execute();
    await api.db
      .insertInto('reconcile_state')
      .values({
        scope: 'ppns:5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e',
        kind: 'ppns',
        last_run_at: new Date(),
        last_success_at: new Date(Date.now() - 42_000),
        last_error: '<script>alert(1)</script>',
        recovered: 3,
      })
      .execute();
    await api.hmrcQueue.add('fetch-message', {}, { delay: 60_000 });
    await api.ingestQueue.add('notification', {});
    const pacer = new RatePacer(api.redis, pacerKey(api.prefix), spacingFor(50));
    for (let call = 0; call < 3; call += 1) await pacer.acquire();
  });

  it('returns queue depths, throughput, dead letters, reconciliation and HMRC budget use as JSON', async () => {
    const response = await request(api, '/ops/data', { authorization: `Bearer ${keys.all}` });
    expect(response.status).toBe(200);
    const data = (await response.json()) as any;
    const queue = (name: string) => data.queues.find((entry: any) => entry.name === name);
    expect(queue('ingest').counts.waiting).toBe(1);
    expect(queue('ingest').oldestWaitingAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(queue('hmrc').counts.delayed).toBe(1);
    expect(queue('ops').counts.waiting).toBe(0);

    expect(data.throughput.minutes).toHaveLength(60);
    expect(data.throughput.total).toBe(5);
    expect(Math.max(...data.throughput.minutes.map((minute: any) => minute.count))).toBe(4);

    expect(data.deadLetters.open).toBe(2);
    expect(data.deadLetters.byKind).toContainEqual({
      kind: 'fetch-message',
      status: 'resolved',
      count: 1,
    });

    expect(data.reconciliation.total).toBe(1);
    expect(data.reconciliation.recovered).toBe(3);
    expect(data.reconciliation.scopes[0].lastSuccessAgeSeconds).toBeGreaterThanOrEqual(42);

    expect(data.hmrcBudget.limitPerSecond).toBe(3);
    expect(data.hmrcBudget.budgetPerMinute).toBe(180);
    expect(data.hmrcBudget.minutes).toHaveLength(60);
    expect(
      data.hmrcBudget.minutes.reduce((sum: number, minute: any) => sum + minute.count, 0),
    ).toBe(3);
  });

  it('serves an HTML page with the same numbers, escaped, under a strict CSP and no external assets', async () => {
    const response = await request(api, '/ops', { authorization: basic(keys.all) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('cache-control')).toBe('no-store');
    const html = await response.text();
    expect(html).toContain('<strong id="dead-letters-open">2</strong>');
    expect(html).toContain('<strong id="throughput-total">5</strong>');
    expect(html).toMatch(/<tr data-queue="ingest">.*?data-state="waiting">1</);
    expect(html).toMatch(/<svg id="throughput-chart"[^>]*role="img"/);
    expect(html).toContain('data-count="4"');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);

    const script = await request(api, '/ops/assets/ops.js', { authorization: basic(keys.all) });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
  });
});
