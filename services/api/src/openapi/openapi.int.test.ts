import { routePaths } from '../http/input-guard.js';
import { keys, startTestApi, type TestApi } from '../test-support/api.js';
import { responseProblems } from '../test-support/openapi-validator.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

/** `:name` → `{name}`, as OpenAPI writes path parameters. */
const asTemplate = (path: string) => path.replace(/:(\w+)/g, '{$1}');

describe('/openapi.json', () => {
  it('describes every route the api serves, and nothing it does not', async () => {
    const response = await fetch(`${api.baseUrl}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toBe('3.1.0');
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    const served = routePaths(api.app).map(({ method, path }) => `${method} ${asTemplate(path)}`);
    // A route added without describing it in its capability's openapi.ts fails here.
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
    // bull-board is a mounted app of its own (its routes are not in our router).
    const stale = [...documented].filter(
      (route) => !served.includes(route) && route !== 'GET /admin/queues',
    );
    expect(stale).toEqual([]);
  });

  it('answers with the parameters each route reads', async () => {
    const document = await api.get('/openapi.json').then((r) => r.json());
    const names = (path: string) =>
      (document.paths[path].get.parameters as { name: string }[]).map((p) => p.name);
    expect(names('/v1/submissions')).toEqual(
      expect.arrayContaining(['status', 'eori', 'lrn', 'messageType', 'page', 'count']),
    );
    expect(names('/customs/transits/movements/departures/{departureId}/messages')).toEqual(
      expect.arrayContaining(['departureId', 'receivedSince', 'receivedUntil', 'page', 'count']),
    );
  });
});

describe('/ and /docs', () => {
  it('/ lists where the documentation, the document, health and ops are', async () => {
    const response = await api.get('/');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(responseProblems('GET', '/', 200, body)).toEqual([]);
    expect(body.links.docs.href).toBe('/docs');
    expect(body.links.openapi.href).toBe('/openapi.json');
    expect(body.links.health.href).toBe('/healthz');
    expect(body.links.ops.href).toBe('/ops');
    const html = await fetch(`${api.baseUrl}/`, { headers: { accept: 'text/html' } });
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(await html.text()).toContain('href="/docs"');
  });

  it('/docs loads its renderer from this server only, under a CSP that allows nothing else', async () => {
    const page = await fetch(`${api.baseUrl}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href|spec-url)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(source).toMatch(/^\//);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const script = html.match(/<script src="([^"]+)"/)![1]!;
    const bundle = await fetch(`${api.baseUrl}${script}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });
});

describe('answers match the document', () => {
  it('lists, errors and single resources of the /v1 API', async () => {
    const checks: [string, number][] = [
      ['/v1/submissions', 200],
      ['/v1/submissions?status=nope', 400],
      ['/v1/submissions/00000000-0000-0000-0000-000000000000', 404],
      ['/v1/dead-letters', 200],
      ['/v1/connections', 200],
      ['/v1/events?limit=5', 200],
      ['/v1/audit', 200],
      ['/customs/transits/movements/departures', 200],
      ['/customs/transits/movements/arrivals/zz', 400],
      ['/healthz', 200],
    ];
    for (const [path, status] of checks) {
      const response = await api.get(path, { key: keys.all });
      expect([path, response.status]).toEqual([path, status]);
      expect(responseProblems('GET', path, status, await response.json())).toEqual([]);
    }
  });

  it('the validator notices an answer that does not match', () => {
    expect(responseProblems('GET', '/v1/submissions', 200, { submissions: 'no' })).not.toEqual([]);
    expect(responseProblems('GET', '/v1/nothing-here', 200, {})).toEqual([
      '/v1/nothing-here is not in the document',
    ]);
  });
});
