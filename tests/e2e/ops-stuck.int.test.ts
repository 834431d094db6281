// Risk retired: a declaration stuck because HMRC refuses the trader's token (the sandbox forgot
// its tokens, as after a restart) shows on /ops only as "hmrc delayed 1": no verdict, no cause,
// nothing saying what to do; and /ops running off a phone's screen. In Debian's Chromium, at
// 1400×1000 and 390×844. Screenshots: test-output/ops-desktop.png, test-output/ops-phone.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { repoRoot, waitFor } from '@ctc-hub/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { pushNotification } from './ppns-push.js';
import { hex16, startE2E, traderEori, type E2E } from './support.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const browserTest = haveChromium || process.env.CI ? it : it.skip;

interface PageElement {
  tagName: string;
  id: string;
  className: string;
  textContent: string | null;
  getBoundingClientRect(): { right: number };
}

interface PageGlobals {
  document: {
    getElementById(id: string): { textContent: string | null } | null;
    querySelector(selector: string): unknown;
    documentElement: { scrollWidth: number };
    querySelectorAll(selector: string): ArrayLike<PageElement>;
  };
  innerWidth: number;
}

let e2e: E2E;
let context: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  // Slow retries, so the declaration is still retrying while we look at it.
  // No reconciliation: nothing but the declaration uses the trader's token once HMRC forgets it.
  if (haveChromium)
    e2e = await startE2E({ SUBMIT_BACKOFF_BASE_MS: '20000', RECONCILE_ENABLED: 'false' });
}, 60_000);
afterAll(async () => {
  await context?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  await e2e?.stop();
});

async function openOps(): Promise<Page> {
  profile = mkdtempSync(join(tmpdir(), 'ctc-ops-stuck-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    httpCredentials: { username: 'operator', password: e2e.stack.apiKey },
    viewport: { width: 1400, height: 1000 },
  });
  return context.pages()[0] ?? (await context.newPage());
}

browserTest(
  'shows a declaration stuck on a refused token, with its cause and the reconnect link, at desktop and phone widths',
  async () => {
    if (!haveChromium) throw new Error(`Chromium is required in CI at ${chromiumPath}`);
    // Real traffic first: messages on a departure, and a notification nobody can read.
    const departureId = hex16();
    for (const messageType of ['IE028', 'IE029', 'IE060'])
      await e2e.inject('departure', departureId, { messageType });
    await e2e.waitForMessages('departure', departureId, 3);
    expect(await pushNotification(e2e, '{"unreadable":true}')).toBe(200);

    const page = await openOps();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    expect((await page.goto(`${e2e.stack.apiUrl}/ops`))?.status()).toBe(200);
    expect(await page.locator('#submissions-retrying').textContent()).toBe('0');

    // An established trader: HMRC's answers have long shown the connection is its own (what
    // reconciliation, switched off here, would have recorded), so no check precedes the send.
    await e2e.testDb.db
      .updateTable('oauth_tokens')
      .set({ verification: 'verified', verified_at: new Date() })
      .where('subject', '=', traderEori)
      .execute();
    // The sandbox forgets its tokens (a restart); the trader's declaration then cannot be sent.
    e2e.stack.sandbox!.controls.forgetTokens();
    const response = await fetch(`${e2e.stack.apiUrl}/v1/departures`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${e2e.stack.apiKey}`,
        'content-type': 'application/xml',
      },
      body: buildMessage('IE015', { eori: traderEori }),
    });
    expect(response.status).toBe(202);
    const { submissionId } = (await response.json()) as { submissionId: string };
    await waitFor(
      async () => {
        const body = (await e2e.api(`/v1/submissions/${submissionId}`)).body;
        return body.attempts.length > 0 ? body : undefined;
      },
      { what: 'the first attempt' },
    );

    // Within one refresh (15 s) the page shows it, without reloading.
    const row = page.locator(`tr[data-submission="${submissionId}"]`);
    await row.waitFor({ timeout: 20_000 });
    expect(await row.getAttribute('data-state')).toBe('retrying');
    expect(await row.locator('td[data-label="Cause"]').textContent()).toMatch(/invalid_grant/);
    expect(await page.locator('#verdict').getAttribute('data-level')).toBe('degraded');
    expect(await page.locator('#verdict-reasons').textContent()).toMatch(
      new RegExp(`1 declaration retrying.*${traderEori}.*invalid_grant`, 's'),
    );
    const trader = page.locator(`#traders tr[data-eori="${traderEori}"]`);
    expect(await trader.getAttribute('data-token-state')).toBe('refresh-failed');
    expect(
      await trader.getByRole('link', { name: `Reconnect ${traderEori}` }).getAttribute('href'),
    ).toBe(`/oauth/hmrc/start?eori=${traderEori}`);
    // The trader view says the same.
    expect((await e2e.api(`/v1/traders/${traderEori}`)).body).toMatchObject({
      tokenState: 'refresh-failed',
      token: { refreshError: 'invalid_grant' },
      attention: [expect.objectContaining({ href: `/oauth/hmrc/start?eori=${traderEori}` })],
    });

    mkdirSync(`${repoRoot}test-output`, { recursive: true });
    await page.screenshot({ path: `${repoRoot}test-output/ops-desktop.png`, fullPage: true });

    // Phone width: nothing runs off the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    // These run in the page (the test is compiled without the DOM's types).
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).innerWidth === 390);
    const overflow = await page.evaluate(() => {
      const window = globalThis as unknown as PageGlobals;
      // The innermost elements that end past the screen's right edge, to name what is too wide.
      const wide = Array.from(window.document.querySelectorAll('body *'))
        .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map(
          (element) =>
            `${element.tagName.toLowerCase()}#${element.id}.${element.className}: ${(element.textContent ?? '').slice(0, 60)}`,
        );
      return { by: window.document.documentElement.scrollWidth - window.innerWidth, wide };
    });
    expect(overflow).toEqual({ by: expect.any(Number), wide: [] });
    expect(overflow.by).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${repoRoot}test-output/ops-phone.png`, fullPage: true });
    expect(problems).toEqual([]);
  },
  120_000,
);
