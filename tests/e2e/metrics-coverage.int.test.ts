// Risk retired: a dashboard panel or an alert that silently shows nothing because the metric it
// queries was renamed, never registered or never recorded. The whole stack runs real traffic
// (small and large messages, a quarantined notification, a submission, a 429, token refreshes
// that succeed and fail, a message only reconciliation finds, webhook deliveries); then every
// metric name used by infra/grafana/ctc-hub.json and infra/prometheus/alerts.yml must appear in
// the /metrics of the receiver, the worker or the api.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { repoRoot, waitFor } from '@ctc-hub/testing';
import {
  metricNames,
  observabilityExpressions,
  prometheusGenerated,
  scrapedNames,
} from '../observability/promql.js';
import { pushNotification } from './ppns-push.js';
import { hex16, startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
let hooks: Server;
let webhookCalls = 0;

beforeAll(async () => {
  // A receiver for the change-feed webhooks: any 2xx counts as delivered.
  hooks = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      webhookCalls += 1;
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  e2e = await startE2E({
    EVENT_WEBHOOK_URLS: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`,
    EVENT_WEBHOOK_SECRET: `whsec_${Buffer.from('metrics-coverage-webhook-secret').toString('base64')}`,
    RECONCILE_INTERVAL_SECONDS: '2',
    RECONCILE_TICK_SECONDS: '1',
    RECONCILE_GRACE_SECONDS: '0',
  });
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
  await new Promise<void>((resolve) => (hooks ? hooks.close(() => resolve()) : resolve()));
});

const bodyPaths = '/messages/[0-9a-f]{16}/body$';

async function scrapeAll(): Promise<Set<string>> {
  const names = new Set<string>();
  const texts: string[] = [];
  for (const base of [e2e.stack.receiverUrl, e2e.stack.workerUrl, e2e.stack.apiUrl]) {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    texts.push(text);
    for (const name of scrapedNames(text)) names.add(name);
  }
  // For people reading a failure: what the services exported (test-output/ is not committed).
  mkdirSync(`${repoRoot}test-output`, { recursive: true });
  writeFileSync(`${repoRoot}test-output/metrics.txt`, texts.join('\n'));
  return names;
}

it('exports every metric the dashboard and the alert rules use', async () => {
  const sandbox = e2e.stack.sandbox!.controls;

  // Inline and large (fetched by URI) messages.
  const small = hex16();
  await e2e.inject('departure', small, { messageType: 'IE028' });
  const large = hex16();
  await e2e.inject('departure', large, { messageType: 'IE029', size: 100_000 });

  // A notification nobody can read: quarantined, a dead letter.
  expect(await pushNotification(e2e, '{"not":"a CTC notification"}')).toBe(200);

  // A declaration through our api.
  const submitted = await fetch(`${e2e.stack.apiUrl}/v1/departures`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${e2e.stack.apiKey}`,
      'content-type': 'application/xml',
      'idempotency-key': randomUUID(),
    },
    body: buildMessage('IE015', { lrn: `MET${Date.now()}`, eori: traderEori }),
  });
  expect(submitted.status).toBe(202);

  // HMRC throttles a fetch once (429), then lets it through.
  const throttledBefore = sandbox.stats().throttled.fault;
  sandbox.setFaults({ api: { paths: bodyPaths, throttleRate: 1, retryAfterSeconds: 1 } });
  const throttled = hex16();
  await e2e.inject('departure', throttled, { messageType: 'IE029', size: 100_000 });
  await waitFor(() => sandbox.stats().throttled.fault > throttledBefore, { what: 'a 429 served' });
  sandbox.clearFaults();

  // Access tokens expire at HMRC: the next fetch refreshes the trader's token.
  await e2e.waitForMessages('departure', throttled, 1, 20_000);
  sandbox.expireAccessTokens();
  const refreshed = hex16();
  await e2e.inject('departure', refreshed, { messageType: 'IE029', size: 100_000 });
  await e2e.waitForMessages('departure', refreshed, 1, 20_000);

  // A message HMRC never pushes: only reconciliation can find it.
  const missed = hex16();
  await e2e.waitForMessages('departure', small, 1, 20_000);
  sandbox.injectMessage('departure', missed, {
    generate: { messageType: 'IE028' },
    eori: traderEori,
    push: false,
  });
  // Not fatal here: if reconciliation never finds it, the metric check below names what is missing.
  await e2e.waitForMessages('departure', missed, 1, 40_000).catch(() => undefined);

  // HMRC forgets every token (as after a revoked authority): the trader's refresh now fails.
  await e2e.waitForMessages('departure', large, 1, 20_000);
  sandbox.reset();
  await e2e.inject('departure', hex16(), { messageType: 'IE029', size: 100_000 });

  const used = new Map<string, string[]>();
  for (const { where, expr } of observabilityExpressions()) {
    for (const name of metricNames(expr)) used.set(name, [...(used.get(name) ?? []), where]);
  }
  expect(used.size).toBeGreaterThanOrEqual(20);

  // Gauges refreshed from PostgreSQL every 15 s and counters recorded asynchronously: wait for
  // them, then report every name still missing with where it is used.
  let missing: string[] = [];
  await waitFor(
    async () => {
      const exported = await scrapeAll();
      missing = [...used.keys()].filter(
        (name) => !prometheusGenerated.has(name) && !exported.has(name),
      );
      return missing.length === 0;
    },
    { timeoutMs: 60_000, intervalMs: 1000, what: 'every used metric exported' },
  ).catch(() => undefined);
  expect(missing.map((name) => `${name} (used by ${used.get(name)!.join('; ')})`)).toEqual([]);
  expect(webhookCalls).toBeGreaterThan(0);
}, 180_000);

it('gives each service in the one process its own /metrics, labelled with its own name', async () => {
  // `pnpm start` hosts every service in one process; each /metrics must still read as if the
  // service ran alone (production), or dashboards double-count and mislabel.
  expect(await pushNotification(e2e, '{"not":"a CTC notification"}')).toBe(200);
  const scrape = async (base: string) => (await fetch(`${base}/metrics`)).text();
  const bases = {
    'ctc-hub-receiver': e2e.stack.receiverUrl,
    'ctc-hub-worker': e2e.stack.workerUrl,
    'ctc-hub-api': e2e.stack.apiUrl,
    'ctc-hub-hmrc-sandbox': e2e.stack.sandbox!.url,
  };
  await waitFor(async () => (await scrape(bases['ctc-hub-worker'])).includes('ctc_ingest_'), {
    what: 'the worker to count the notification',
  });
  const texts = Object.fromEntries(
    await Promise.all(
      Object.entries(bases).map(async ([name, base]) => [name, await scrape(base)] as const),
    ),
  );
  for (const [service, text] of Object.entries(texts)) {
    const labels = [...text.matchAll(/^target_info\{[^}]*service_name="([^"]+)"/gm)].map(
      (match) => match[1],
    );
    expect([service, labels]).toEqual([service, [service]]);
  }
  const names = Object.fromEntries(
    Object.entries(texts).map(([service, text]) => [service, scrapedNames(text)] as const),
  );
  expect(names['ctc-hub-receiver']!.has('ctc_receiver_notifications_total')).toBe(true);
  expect(names['ctc-hub-worker']!.has('ctc_ingest_notifications_total')).toBe(true);
  expect(names['ctc-hub-worker']!.has('ctc_queue_jobs')).toBe(true);
  expect(names['ctc-hub-hmrc-sandbox']!.has('hmrc_sandbox_requests_total')).toBe(true);
  // Instruments only one service makes, seen on another service's /metrics.
  const owned: Record<string, RegExp> = {
    'ctc-hub-receiver': /^ctc_receiver_/,
    'ctc-hub-worker': /^ctc_(ingest|queue|fetch|reconcile|dead|webhook)_/,
    'ctc-hub-hmrc-sandbox': /^hmrc_sandbox_/,
  };
  for (const [service, exported] of Object.entries(names)) {
    const foreign = [...exported].filter((metric) =>
      Object.entries(owned).some(([owner, pattern]) => owner !== service && pattern.test(metric)),
    );
    expect([service, foreign]).toEqual([service, []]);
  }
}, 60_000);
