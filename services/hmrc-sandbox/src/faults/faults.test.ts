import http from 'node:http';
import { ctcJson, startTestSandbox, type TestSandbox } from '../test-helpers.js';
import { parseFaultHeader } from './faults.js';

// Fault injection as clients meet it: per-request X-Sandbox-Fault, global faults through the
// admin API (deterministic with a seed), and the stats and reset endpoints.

let sandbox: TestSandbox;
let token: string;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.reset();
  token = sandbox.token();
});

const list = (headers: Record<string, string> = {}) =>
  fetch(`${sandbox.url}/customs/transits/movements/departures`, {
    headers: { authorization: `Bearer ${token}`, accept: ctcJson, ...headers },
  });

const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${sandbox.url}/_sandbox/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('X-Sandbox-Fault', () => {
  it('status=503 answers with that status and an HMRC-style body', async () => {
    const response = await list({ 'x-sandbox-fault': 'status=503' });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      code: 'SERVER_ERROR',
      message: 'Injected fault: the service is unavailable',
    });
  });

  it('throttle=7 answers 429 with Retry-After 7', async () => {
    const response = await list({ 'x-sandbox-fault': 'throttle=7' });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(((await response.json()) as Record<string, string>).code).toBe('MESSAGE_THROTTLED_OUT');
    expect(sandbox.controls.stats().throttled).toMatchObject({ total: 1, fault: 1 });
  });

  it('latency=150 delays the answer', async () => {
    const started = Date.now();
    expect((await list({ 'x-sandbox-fault': 'latency=150' })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('reset drops the connection without an answer', async () => {
    await expect(list({ 'x-sandbox-fault': 'reset' })).rejects.toThrow();
    expect(sandbox.controls.stats().faults.resets).toBe(1);
  });

  it('slow trickles the body out', async () => {
    const started = Date.now();
    const response = await list({ 'x-sandbox-fault': 'slow=400' });
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ totalCount: 0 });
    // ~100 bytes at 400 B/s in 40-byte chunks every 100 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('combines directives and rejects unknown ones', async () => {
    const started = Date.now();
    expect((await list({ 'x-sandbox-fault': 'latency=100; status=500' })).status).toBe(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    const typo = await list({ 'x-sandbox-fault': 'explode' });
    expect(typo.status).toBe(400);
    expect(((await typo.json()) as Record<string, string>).message).toContain('unknown directive');
  });

  it('does not touch the admin, OAuth or test-support paths', async () => {
    const response = await fetch(`${sandbox.url}/_sandbox/stats`, {
      headers: { 'x-sandbox-fault': 'status=500' },
    });
    expect(response.status).toBe(200);
  });
});

describe('parseFaultHeader', () => {
  it('parses every directive', () => {
    expect(
      parseFaultHeader('latency=10, status=502; throttle; slow=100, accept-then-reset'),
    ).toEqual({
      latencyMs: 10,
      status: 502,
      throttleRetryAfter: 1,
      reset: false,
      slowBytesPerSecond: 100,
      acceptThen: 'reset',
    });
    expect(() => parseFaultHeader('status=404')).toThrow(/500 to 599/);
    expect(() => parseFaultHeader('latency=-1')).toThrow();
  });
});

describe('/_sandbox/faults', () => {
  it('sets, reads and clears global faults, validating the body', async () => {
    const put = await admin('PUT', 'faults', {
      seed: 7,
      api: { errorRate: 1, errorStatuses: [502] },
    });
    expect(put.status).toBe(200);
    expect(await (await admin('GET', 'faults')).json()).toMatchObject({
      seed: 7,
      api: { errorRate: 1, errorStatuses: [502] },
      push: {},
    });
    expect((await list()).status).toBe(502);
    expect((await admin('DELETE', 'faults')).status).toBe(204);
    expect((await list()).status).toBe(200);
    const bad = await admin('PUT', 'faults', { api: { errorRate: 2 } });
    expect(bad.status).toBe(400);
    expect((await admin('PUT', 'faults', { api: { wobble: true } })).status).toBe(400);
  });

  it('hits the same requests in the same order for the same seed', async () => {
    const run = async () => {
      await admin('PUT', 'faults', { seed: 1234, api: { errorRate: 0.3, throttleRate: 0.2 } });
      const statuses: number[] = [];
      for (let index = 0; index < 30; index += 1) statuses.push((await list()).status);
      return statuses;
    };
    const first = await run();
    const second = await run();
    expect(first).toEqual(second);
    expect(first).toContain(200);
    expect(first.some((status) => status >= 500)).toBe(true);
  });

  it('can hit only some paths', async () => {
    sandbox.controls.setFaults({ api: { paths: '^/misc/', errorRate: 1 } });
    expect((await list()).status).toBe(200);
  });
});

describe('/_sandbox/stats and /_sandbox/reset', () => {
  it('counts calls by route and status, and reset forgets state', async () => {
    await list();
    await list({ accept: 'application/vnd.hmrc.2.1+xml' });
    sandbox.controls.injectMessage('departure', undefined, {
      generate: { messageType: 'IE928' },
      eori: 'GB123456789000',
      push: false,
    });
    const stats = (await (await admin('GET', 'stats')).json()) as {
      api: Record<string, Record<string, number>>;
    };
    expect(stats.api['GET /customs/transits/movements/departures']).toEqual({ 200: 1, 406: 1 });
    expect((await admin('POST', 'reset')).status).toBe(204);
    expect(sandbox.controls.movements()).toHaveLength(0);
    expect((await list()).status).toBe(401);
    const after = (await (await admin('GET', 'stats')).json()) as {
      api: Record<string, Record<string, number>>;
    };
    expect(after.api['GET /customs/transits/movements/departures']).toEqual({ 401: 1 });
  });

  it('issues tokens and changes settings without exposing secrets', async () => {
    const issued = (await (await admin('POST', 'tokens', { eori: 'GB000000000042' })).json()) as {
      access_token: string;
    };
    token = issued.access_token;
    expect((await list()).status).toBe(200);
    const settings = (await (await admin('PUT', 'settings', { nctsStepMs: 5 })).json()) as Record<
      string,
      unknown
    >;
    expect(settings.nctsStepMs).toBe(5);
    expect(settings.pushSecret).toBeUndefined();
    expect(settings.clientSecret).toBeUndefined();
    expect((await admin('PUT', 'settings', { nctsStepMs: -1 })).status).toBe(400);
  });

  it('gives another application (clientId) a rate budget of its own, counted per application', async () => {
    sandbox.controls.configure({ rateLimitPerSecond: 2 });
    try {
      const other = (await (
        await admin('POST', 'tokens', { eori: 'GB123456789000', clientId: 'bench-poller' })
      ).json()) as { access_token: string };
      const statuses: number[] = [];
      for (let call = 0; call < 3; call += 1) statuses.push((await list()).status);
      expect(statuses).toEqual([200, 200, 429]);
      token = other.access_token;
      expect((await list()).status).toBe(200);
      expect(sandbox.controls.stats().applications).toEqual({
        [sandbox.controls.settings().clientId]: { calls: 2, throttled: 1 },
        'bench-poller': { calls: 1, throttled: 0 },
      });
      expect((await admin('POST', 'tokens', { clientId: 'not valid!' })).status).toBe(400);
    } finally {
      sandbox.controls.configure({ rateLimitPerSecond: 10_000 });
    }
  });

  it('serves health and metrics', async () => {
    expect((await fetch(`${sandbox.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${sandbox.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${sandbox.url}/metrics`)).status).toBe(200);
  });

  it('answers unknown paths like the API Platform', async () => {
    const response = await new Promise<number>((resolve) => {
      http.get(`${sandbox.url}/customs/nothing-here`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
    });
    expect(response).toBe(404);
    const body = await (await fetch(`${sandbox.url}/customs/nothing-here`)).json();
    expect(body).toEqual({
      code: 'MATCHING_RESOURCE_NOT_FOUND',
      message: 'A resource with the name in the request can not be found in the API',
    });
  });
});
