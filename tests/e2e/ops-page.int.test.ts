// Risk retired: the /ops overview as an operator sees it in a real browser (Debian's Chromium,
// headless): it signs in with Basic credentials, shows the numbers Redis and PostgreSQL hold (queue
// table, open dead letters, a throughput chart with a real point), loads nothing from elsewhere,
// runs under its CSP without errors, and refreshes itself. Screenshot: test-output/ops.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, waitFor } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { chromium, type BrowserContext } from 'playwright-core';
import { pushNotification } from './ppns-push.js';
import { hex16, startE2E, type E2E } from './support.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
// CI installs Chromium (apt-get install -y chromium): there, a missing browser is a failure.
const browserTest = haveChromium || process.env.CI ? it : it.skip;
if (!haveChromium && !process.env.CI)
  console.warn(
    `${chromiumPath} not found: skipping the /ops browser test (apt-get install -y chromium)`,
  );

interface PageDocument {
  getElementById(id: string): { textContent: string | null } | null;
}

let e2e: E2E;
let context: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  if (haveChromium) e2e = await startE2E();
}, 60_000);
afterAll(async () => {
  await context?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  await e2e?.stop();
});

const storedLastHour = async () =>
  Number(
    (
      await sql<{ count: number }>`
        SELECT count(*)::int AS count FROM events
        WHERE kind = 'message.received' AND created_at >= date_trunc('minute', now()) - interval '59 minutes'`.execute(
        e2e.testDb.db,
      )
    ).rows[0]!.count,
  );

browserTest(
  'shows real queue, dead-letter and throughput numbers in Chromium, and refreshes them',
  async () => {
    if (!haveChromium)
      throw new Error(`Chromium is required in CI at ${chromiumPath}: apt-get install -y chromium`);

    // Real data: three messages on a departure, and a notification nobody can read.
    const departureId = hex16();
    for (const messageType of ['IE028', 'IE029', 'IE060'])
      await e2e.inject('departure', departureId, { messageType });
    await e2e.waitForMessages('departure', departureId, 3);
    expect(await pushNotification(e2e, '{"unreadable":true}')).toBe(200);
    const openLetters = await waitFor(
      async () => {
        const row = await e2e.testDb.db
          .selectFrom('dead_letters')
          .select(sql<number>`count(*)::int`.as('count'))
          .where('status', '=', 'open')
          .executeTakeFirstOrThrow();
        return Number(row.count) > 0 ? Number(row.count) : undefined;
      },
      { what: 'a dead letter' },
    );
    const stored = await storedLastHour();
    expect(stored).toBeGreaterThanOrEqual(3);

    profile = mkdtempSync(join(tmpdir(), 'ctc-ops-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      httpCredentials: { username: 'operator', password: e2e.stack.apiKey },
      viewport: { width: 1200, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    const response = await page.goto(`${e2e.stack.apiUrl}/ops`);
    expect(response?.status()).toBe(200);
    await expect(page.title()).resolves.toBe('ctc-hub operations');

    // The queue table, by its accessible name, with a row per queue.
    const queues = page.getByRole('table', { name: /Jobs per queue and state/ });
    await queues.waitFor();
    for (const name of ['ingest', 'hmrc', 'ops'])
      expect(await queues.locator(`tr[data-queue="${name}"]`).count()).toBe(1);
    // Six states, the oldest waiting and oldest delayed job, retrying and next due.
    expect(await queues.locator('tbody tr').first().locator('td').count()).toBe(10);

    expect(await page.locator('#dead-letters-open').textContent()).toBe(String(openLetters));
    expect(
      await page
        .getByRole('table', { name: /Dead letters by kind and status/ })
        .locator('tr[data-kind="notification"][data-status="open"] td.num')
        .textContent(),
    ).toBe(String(openLetters));

    // The chart: an image with an accessible name, 60 bars, at least one of them non-zero.
    const chart = page.getByRole('img', { name: /Messages stored per minute/ });
    await chart.waitFor();
    const counts = await page
      .locator('#throughput-chart rect.bar')
      .evaluateAll((bars) => bars.map((bar) => Number(bar.getAttribute('data-count'))));
    expect(counts).toHaveLength(60);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(stored);
    expect(Math.max(...counts)).toBeGreaterThan(0);
    const tallest = await page
      .locator('#throughput-chart rect.bar')
      .evaluateAll((bars) => Math.max(...bars.map((bar) => bar.getBoundingClientRect().height)));
    expect(tallest).toBeGreaterThan(10);
    expect(await page.locator('#throughput-total').textContent()).toBe(String(stored));

    mkdirSync(`${repoRoot}test-output`, { recursive: true });
    await page.screenshot({ path: `${repoRoot}test-output/ops.png`, fullPage: true });

    // A new message shows up without reloading (the page refreshes itself every 15 s).
    await e2e.inject('departure', departureId, { messageType: 'IE051' });
    await e2e.waitForMessages('departure', departureId, 4);
    await page.waitForFunction(
      // Runs in the page; the test itself is compiled without the DOM's types.
      (expected) =>
        (globalThis as unknown as { document: PageDocument }).document.getElementById(
          'throughput-total',
        )?.textContent === String(expected),
      stored + 1,
      { timeout: 25_000 },
    );
    expect(await page.locator('#refresh-status').textContent()).toMatch(/^Updated/);

    const origin = new URL(e2e.stack.apiUrl).origin;
    expect(requests.filter((url) => !url.startsWith(`${origin}/`))).toEqual([]);
    expect(problems).toEqual([]);
  },
  120_000,
);
