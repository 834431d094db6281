// Risk retired: the gauges operators alert on (dead letters, reconciliation freshness, traders
// near HMRC's re-consent limit) show what PostgreSQL holds, in Prometheus text on /metrics, and
// a scrape never costs a database query.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadWorkerConfig } from '@ctc-hub/config';
import { createHmrcClients } from '@ctc-hub/hmrc-client';
import { createLogger, initMetrics, type ServiceMetrics } from '@ctc-hub/telemetry';
import { createTestDatabase, type TestDatabase } from '@ctc-hub/testing';
import { reconcileAges, startOperationalGauges } from './operational-gauges.js';

let testDb: TestDatabase;
let server: Server;
let metricsUrl: string;
let gauges: ReturnType<typeof startOperationalGauges>;
let queries = 0;
let serviceMetrics: ServiceMetrics;

const day = 24 * 3600 * 1000;

beforeAll(async () => {
  serviceMetrics = initMetrics('operational-gauges-test');
  testDb = await createTestDatabase();
  const config = loadWorkerConfig({
    DATABASE_URL: testDb.url,
    HMRC_API_BASE_URL: 'http://127.0.0.1:9',
    HMRC_CLIENT_ID: 'test-client',
    HMRC_CLIENT_SECRET: 'test-secret',
    TOKEN_ENCRYPTION_KEY: '0'.repeat(64),
  });
  const db = testDb.db;
  const hmrc = createHmrcClients(config, { db, meter: serviceMetrics.meter });

  const letter = (kind: string, status: string, key: string) => ({
    dedupe_key: key,
    kind,
    error_code: 'TEST',
    error_message: 'seeded',
    payload: '{}',
    status: status as 'open',
  });
  await db
    .insertInto('dead_letters')
    .values([
      letter('notification', 'open', 'n1'),
      letter('notification', 'open', 'n2'),
      letter('notification', 'resolved', 'n3'),
      letter('fetch-message', 'replayed', 'f1'),
    ])
    .execute();
  const now = Date.now();
  await db
    .insertInto('reconcile_state')
    .values([
      // The stalest active ppns scope succeeded 5 minutes ago.
      {
        scope: 'ppns:a',
        kind: 'ppns',
        last_run_at: new Date(now - 10_000),
        last_success_at: new Date(now - 300_000),
      },
      {
        scope: 'ppns:b',
        kind: 'ppns',
        last_run_at: new Date(now - 10_000),
        last_success_at: new Date(now - 10_000),
      },
      // Retired: not run for two days, so it does not make ctc look two days stale.
      {
        scope: 'ctc:GB1:departure',
        kind: 'ctc',
        last_run_at: new Date(now - 2 * day),
        last_success_at: new Date(now - 2 * day),
      },
      {
        scope: 'ctc:GB2:departure',
        kind: 'ctc',
        last_run_at: new Date(now - 60_000),
        last_success_at: new Date(now - 60_000),
      },
    ])
    .execute();
  const token = (subject: string, consentedAt: Date) => ({
    subject,
    kind: 'user' as const,
    access_token: 'v1.x.y',
    refresh_token: 'v1.x.z',
    scope: 'common-transit-convention-traders',
    access_expires_at: new Date(now + 3600_000),
    consented_at: consentedAt,
  });
  const months = (count: number) => {
    const date = new Date(now);
    date.setUTCMonth(date.getUTCMonth() - count);
    return date;
  };
  await db
    .insertInto('oauth_tokens')
    .values([
      token('GB000000000001', new Date(months(18).getTime() + 10 * day)), // 10 days left
      token('GB000000000002', months(1)),
      // HMRC refused its refresh (invalid_grant), its access token has time left: broken.
      {
        ...token('GB000000000003', months(2)),
        refresh_token: null,
        refresh_refused_at: new Date(now - 60_000),
        refresh_error: 'invalid_grant',
      },
    ])
    .execute();

  // Count the queries the gauges make, to show a scrape makes none.
  const countingDb = new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'selectFrom') queries += 1;
      const value = Reflect.get(target, property, receiver);
      // Kysely's methods read private fields: call them on the real instance.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  gauges = startOperationalGauges(
    {
      db: countingDb,
      tokens: hmrc.tokens,
      logger: createLogger({ service: 'test', level: 'silent' }),
      reconcileEnabled: true,
    },
    serviceMetrics.meter,
    { refreshMs: 60_000 },
  );
  await gauges.refresh();

  server = createServer((request, response) => serviceMetrics.serve(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
});

afterAll(async () => {
  await gauges?.stop();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await testDb?.destroy();
});

const scrape = async () => (await fetch(metricsUrl)).text();
const sample = (text: string, name: string, labels: string) => {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

it('exports dead letters by kind and status, zeros included for statuses a kind has none in', async () => {
  const text = await scrape();
  expect(sample(text, 'ctc_dead_letters', 'kind="notification",status="open"')).toBe(2);
  expect(sample(text, 'ctc_dead_letters', 'kind="notification",status="resolved"')).toBe(1);
  expect(sample(text, 'ctc_dead_letters', 'kind="fetch-message",status="replayed"')).toBe(1);
  expect(sample(text, 'ctc_dead_letters', 'kind="fetch-message",status="open"')).toBe(0);
});

it('exports the age of the stalest active reconciliation scope per kind', async () => {
  const text = await scrape();
  const ppns = sample(text, 'ctc_reconcile_last_success_age_seconds', 'kind="ppns"')!;
  const ctc = sample(text, 'ctc_reconcile_last_success_age_seconds', 'kind="ctc"')!;
  expect(ppns).toBeGreaterThanOrEqual(300);
  expect(ppns).toBeLessThan(330);
  expect(ctc).toBeGreaterThanOrEqual(60);
  expect(ctc).toBeLessThan(90);
});

it('reports traders within 30 days of the 18-month re-consent limit', async () => {
  const text = await scrape();
  expect(sample(text, 'hmrc_tokens_near_reconsent', 'days="30"')).toBe(1);
});

it('reports connected traders by whether their authority works, broken ones included', async () => {
  const text = await scrape();
  // Verification defaults to unverified and nobody vouched: they read but do not act.
  expect(sample(text, 'ctc_trader_tokens', 'state="unverified"')).toBe(2);
  expect(sample(text, 'ctc_trader_tokens', 'state="refresh-refused"')).toBe(1);
  expect(sample(text, 'ctc_trader_tokens', 'state="consent-expired"')).toBe(0);
  expect(sample(text, 'ctc_trader_tokens', 'state="connected"')).toBe(0);
});

it('answers scrapes from the cache, without querying the database', async () => {
  const before = queries;
  await scrape();
  await scrape();
  expect(queries).toBe(before);
  await gauges.refresh();
  expect(queries).toBeGreaterThan(before);
});

describe('reconcileAges', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');
  it('reports the freshest scope when every scope is retired (a stopped scheduler keeps ageing)', () => {
    const ages = reconcileAges(
      [
        {
          scope: 'ctc:a',
          kind: 'ctc',
          lastRunAt: new Date(now - 3 * day),
          lastSuccessAt: new Date(now - 3 * day),
        },
        {
          scope: 'ctc:b',
          kind: 'ctc',
          lastRunAt: new Date(now - 2 * day),
          lastSuccessAt: new Date(now - 2 * day),
        },
      ],
      now,
      new Map(),
    );
    expect(ages.get('ctc')).toBe((2 * day) / 1000);
  });

  it('counts a scope that never succeeded from when it was first seen', () => {
    const ages = reconcileAges(
      [{ scope: 'ppns:x', kind: 'ppns', lastRunAt: new Date(now - 1000), lastSuccessAt: null }],
      now,
      new Map([['ppns:x', now - 120_000]]),
    );
    expect(ages.get('ppns')).toBe(120);
  });
});
