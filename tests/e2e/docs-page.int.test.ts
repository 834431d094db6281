// Risk retired: /docs as an integrator sees it in a real browser (Debian's Chromium, headless,
// no network beyond our api): Redoc, served from our own node_modules, renders every part of
// /openapi.json under the page's CSP, loads nothing from elsewhere and logs no errors.
// Screenshot: test-output/docs.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@ctc-hub/testing';
import { chromium, type BrowserContext } from 'playwright-core';
import { startTestApi, type TestApi } from '../../services/api/src/test-support/api.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
// CI installs Chromium (apt-get install -y chromium): there, a missing browser is a failure.
const browserTest = haveChromium || process.env.CI ? it : it.skip;

let api: TestApi;
let context: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  api = await startTestApi();
}, 60_000);
afterAll(async () => {
  await context?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  await api?.close();
});

browserTest(
  'renders the API reference offline, under its CSP, from our own assets',
  async () => {
    if (!haveChromium)
      throw new Error(`Chromium is required in CI at ${chromiumPath}: apt-get install -y chromium`);
    profile = mkdtempSync(join(tmpdir(), 'ctc-docs-chromium-'));
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
      viewport: { width: 1400, height: 1000 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const elsewhere: string[] = [];
    const problems: string[] = [];
    // Offline: anything not from our api is refused (and recorded).
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(api.baseUrl) || url.startsWith('blob:') || url.startsWith('data:'))
        return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    const response = await page.goto(`${api.baseUrl}/docs`);
    expect(response?.status()).toBe(200);
    // Redoc rendered the document: its title, and operations from each part of the API.
    await page
      .getByRole('heading', { name: /ctc-hub/ })
      .first()
      .waitFor({ timeout: 30_000 });
    for (const summary of [
      'List submissions',
      'List dead letters',
      'Progress of a replay',
      "Start connecting a trader's EORI to HMRC",
      'Liveness: the process serves HTTP',
    ])
      await page
        .locator('h2', { hasText: summary })
        .first()
        .waitFor({ state: 'attached', timeout: 10_000 });

    mkdirSync(`${repoRoot}test-output`, { recursive: true });
    await page.screenshot({ path: `${repoRoot}test-output/docs.png` });
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  },
  90_000,
);
