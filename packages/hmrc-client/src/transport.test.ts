import { Agent } from 'undici';
import { CtcClient } from './ctc-client.js';
import type { HmrcError } from './errors.js';
import {
  closedPort,
  sendJson,
  startLocalServer,
  type Handler,
  type LocalServer,
} from './test-support/local-server.js';
import { createTestMeter } from './test-support/metrics.js';

// Failure classification against real sockets: what HMRC's answers and broken connections become,
// and the size cap on streamed bodies. The retry policy (invariant 7) is only as good as this.

const messageUri =
  '/customs/transits/movements/departures/0123456789abcdef/messages/fedcba9876543210';
const token = 'access-token-value';
const dispatcher = new Agent({ keepAliveTimeout: 10 });
const servers: LocalServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(async () => {
  await dispatcher.close();
});

async function serve(handler: Handler): Promise<LocalServer> {
  const server = await startLocalServer(handler);
  servers.push(server);
  return server;
}

function client(server: { url: string }, options: { timeoutMs?: number; now?: () => number } = {}) {
  return new CtcClient({
    baseUrl: server.url,
    apiVersion: '2.1',
    timeoutMs: options.timeoutMs ?? 5000,
    dispatcher,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

async function fetchError(
  server: LocalServer,
  options: { timeoutMs?: number; now?: () => number } = {},
): Promise<HmrcError> {
  const result = await client(server, options).fetchMessageBody({
    messageUri,
    token,
    maxBytes: 1_000_000,
  });
  if (result.ok) throw new Error('expected a failure');
  return result.error;
}

describe('HTTP status classification', () => {
  it('429 with Retry-After in seconds', async () => {
    const server = await serve((_request, response) =>
      sendJson(
        response,
        429,
        { code: 'MESSAGE_THROTTLED_OUT', message: 'throttled' },
        { 'retry-after': '7' },
      ),
    );
    expect(await fetchError(server)).toEqual({
      kind: 'rate-limited',
      status: 429,
      retryAfterMs: 7000,
      code: 'MESSAGE_THROTTLED_OUT',
      message: 'throttled',
    });
  });

  it('429 with Retry-After as an HTTP-date', async () => {
    const now = Date.parse('2026-03-01T10:00:00Z');
    const server = await serve((_request, response) =>
      sendJson(response, 429, {}, { 'retry-after': 'Sun, 01 Mar 2026 10:00:12 GMT' }),
    );
    expect(await fetchError(server, { now: () => now })).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 12_000,
    });
  });

  it('429 without Retry-After gets the default wait', async () => {
    const server = await serve((_request, response) => sendJson(response, 429, {}));
    expect(await fetchError(server)).toMatchObject({ kind: 'rate-limited', retryAfterMs: 1000 });
  });

  it('401 is unauthorized (the caller refreshes the token)', async () => {
    const server = await serve((_request, response) =>
      sendJson(response, 401, { code: 'UNAUTHORIZED', message: 'Failed to authorise user' }),
    );
    expect(await fetchError(server)).toEqual({
      kind: 'unauthorized',
      status: 401,
      code: 'UNAUTHORIZED',
      message: 'Failed to authorise user',
    });
  });

  it('400 keeps HMRC code, message and validationErrors', async () => {
    const validationErrors = [
      { lineNumber: 1, columnNumber: 90, message: 'cvc-complex-type.2.4.a: bad' },
    ];
    const server = await serve((_request, response) =>
      sendJson(response, 400, {
        code: 'SCHEMA_VALIDATION',
        message: 'Request failed schema validation',
        validationErrors,
      }),
    );
    expect(await fetchError(server)).toEqual({
      kind: 'client-error',
      status: 400,
      code: 'SCHEMA_VALIDATION',
      message: 'Request failed schema validation',
      validationErrors,
    });
  });

  it.each([403, 404, 406, 409, 413, 415])('%i is a client error', async (status) => {
    const server = await serve((_request, response) =>
      sendJson(response, status, { code: 'X', message: `m${status}` }),
    );
    expect(await fetchError(server)).toMatchObject({
      kind: 'client-error',
      status,
      code: 'X',
      message: `m${status}`,
    });
  });

  it('a non-JSON error body becomes a short printable message', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(404, { 'content-type': 'text/html' });
      response.end('<html>\n\u0000Not here</html>');
    });
    expect(await fetchError(server)).toMatchObject({
      kind: 'client-error',
      status: 404,
      message: '<html> Not here</html>',
    });
  });

  it.each([
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [501, false],
  ])('%i is a server error, retryable: %s', async (status, retryable) => {
    const server = await serve((_request, response) =>
      sendJson(response, status, { code: 'INTERNAL_SERVER_ERROR', message: 'x' }),
    );
    expect(await fetchError(server)).toMatchObject({ kind: 'server-error', status, retryable });
  });

  it('a redirect is not followed (it could leave HMRC host)', async () => {
    const elsewhere = await serve((_request, response) => response.end('secret'));
    const server = await serve((_request, response) => {
      response.writeHead(302, { location: `${elsewhere.url}/latest/meta-data` });
      response.end();
    });
    expect(await fetchError(server)).toMatchObject({ kind: 'invalid-response', status: 302 });
    expect(elsewhere.requests).toHaveLength(0);
  });
});

describe('network failures', () => {
  it('no answer within the timeout is a timeout with unknown outcome', async () => {
    const server = await serve(() => undefined);
    const started = Date.now();
    expect(await fetchError(server, { timeoutMs: 200 })).toMatchObject({
      kind: 'timeout',
      outcome: 'unknown',
    });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a body that stalls after the headers is a timeout that knows the status', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.write('<ncts:CC029C');
    });
    expect(await fetchError(server, { timeoutMs: 300 })).toMatchObject({
      kind: 'timeout',
      outcome: 'unknown',
      status: 200,
    });
  });

  it('connection refused: the request was not sent', async () => {
    const port = await closedPort();
    const error = await fetchError({ url: `http://127.0.0.1:${port}` } as LocalServer);
    expect(error).toMatchObject({ kind: 'network', outcome: 'not-sent', code: 'ECONNREFUSED' });
    expect(error).not.toHaveProperty('status');
  });

  it('reset before the response headers: HMRC may have received it (unknown)', async () => {
    const server = await serve((_request, response) => {
      response.socket?.destroy();
    });
    const error = await fetchError(server);
    expect(error).toMatchObject({ kind: 'network', outcome: 'unknown' });
    expect(error).not.toHaveProperty('status');
    expect(server.requests).toHaveLength(1);
  });

  it('reset after the response headers: HMRC answered, the status is kept', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml', 'content-length': '100000' });
      response.write('<ncts:CC029C>', () => setTimeout(() => response.socket?.destroy(), 20));
    });
    expect(await fetchError(server)).toMatchObject({
      kind: 'network',
      outcome: 'unknown',
      status: 200,
    });
  });

  it("the caller's signal aborts the call", async () => {
    const server = await serve(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const result = await client(server).fetchMessageBody({
      messageUri,
      token,
      maxBytes: 1000,
      signal: controller.signal,
    });
    expect(result).toMatchObject({ ok: false, error: { kind: 'aborted', outcome: 'unknown' } });
  });

  it('an already aborted signal sends nothing', async () => {
    const server = await serve((_request, response) => response.end());
    const result = await client(server).fetchMessageBody({
      messageUri,
      token,
      maxBytes: 1000,
      signal: AbortSignal.abort(),
    });
    expect(result).toMatchObject({ ok: false, error: { kind: 'aborted', outcome: 'not-sent' } });
    expect(server.connections).toBe(0);
  });
});

describe('response size cap', () => {
  const megabyte = 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x61);

  /** Streams `total` bytes without Content-Length, honouring backpressure; reports what it wrote. */
  function streamingServer(total: number, pauseAfter?: number) {
    const progress = { written: 0, closedEarly: false, finished: false };
    const handler: Handler = async (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.on('close', () => {
        if (!progress.finished) progress.closedEarly = true;
      });
      while (progress.written < total && !response.destroyed) {
        if (pauseAfter !== undefined && progress.written >= pauseAfter) {
          // Hold the rest back until the client gives up (or 5 s pass): whatever the kernel
          // buffers, the remaining bytes can then only be sent if the client kept reading.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 5000);
            response.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
          });
          if (response.destroyed) break;
          pauseAfter = undefined;
        }
        const ok = response.write(chunk);
        progress.written += chunk.length;
        if (!ok) {
          await new Promise<void>((resolve) => {
            response.once('drain', resolve);
            response.once('close', resolve);
          });
        }
      }
      if (!response.destroyed) {
        progress.finished = true;
        response.end();
      }
    };
    return { progress, handler };
  }

  it('aborts a 30 MB body at a 20 MB cap without reading the rest', async () => {
    const { progress, handler } = streamingServer(30 * megabyte, 21 * megabyte);
    const server = await serve(handler);
    const started = Date.now();
    const result = await client(server).fetchMessageBody({
      messageUri,
      token,
      maxBytes: 20 * megabyte,
    });
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'too-large', limit: 20 * megabyte, sent: true },
    });
    if (result.ok || result.error.kind !== 'too-large') return;
    // We stopped within one socket read of the cap: never 30 MB in memory.
    expect(result.error.received).toBeGreaterThan(20 * megabyte);
    expect(result.error.received).toBeLessThan(21 * megabyte);
    // The connection was closed under the server, which never got to send the remaining 9 MB.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(progress.closedEarly).toBe(true);
    expect(progress.written).toBeLessThan(30 * megabyte);
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('refuses up front when Content-Length is over the cap', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/xml',
        'content-length': String(30 * megabyte),
      });
      response.write(chunk);
    });
    const result = await client(server).fetchMessageBody({
      messageUri,
      token,
      maxBytes: 20 * megabyte,
    });
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'too-large', received: 30 * megabyte },
    });
  });

  it('accepts a body of exactly maxBytes, byte for byte', async () => {
    const body = Buffer.alloc(3 * megabyte + 17, 0x62);
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(body);
    });
    const result = await client(server).fetchMessageBody({
      messageUri,
      token,
      maxBytes: body.length,
    });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.body.equals(body)).toBe(true);
    const over = await client(server).fetchMessageBody({
      messageUri,
      token,
      maxBytes: body.length - 1,
    });
    expect(over).toMatchObject({ ok: false, error: { kind: 'too-large' } });
  });
});

describe('metrics', () => {
  it('counts calls by endpoint template and status, never by id', async () => {
    const testMeter = createTestMeter();
    const body = Buffer.from('<ncts:CC029C/>');
    let status = 200;
    const server = await serve((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/xml' });
      response.end(status === 200 ? body : '{}');
    });
    const ctc = new CtcClient({
      baseUrl: server.url,
      apiVersion: '2.1',
      timeoutMs: 5000,
      dispatcher,
      meter: testMeter.meter,
    });
    await ctc.fetchMessageBody({ messageUri, token, maxBytes: 1000 });
    status = 503;
    await ctc.fetchMessageBody({ messageUri, token, maxBytes: 1000 });

    const endpoint =
      'GET /customs/transits/movements/departures/{movementId}/messages/{messageId}/body';
    const requests = await testMeter.points('hmrc_requests');
    expect(requests).toEqual(
      expect.arrayContaining([
        { attributes: { endpoint, method: 'GET', status: '200' }, value: 1 },
        { attributes: { endpoint, method: 'GET', status: '503' }, value: 1 },
      ]),
    );
    const attributesText = JSON.stringify(requests.map((point) => point.attributes));
    expect(attributesText).not.toContain('0123456789abcdef');
    const bytes = await testMeter.points('hmrc_response_bytes');
    expect(bytes).toEqual([
      { attributes: { endpoint }, value: expect.objectContaining({ sum: body.length, count: 1 }) },
    ]);
    const duration = await testMeter.points('hmrc_request_duration_seconds');
    expect(duration[0]?.value).toEqual(expect.objectContaining({ count: 2 }));
    await testMeter.provider.shutdown();
  });
});

describe('paced calls: departures reported when the bytes leave', () => {
  interface Recorded {
    events: string[];
    asked: number;
  }
  const pacedClient = (
    server: { url: string },
    recorded: Recorded,
    options: { validForMs?: number; dispatcher?: Agent | undefined } = {},
  ) =>
    new CtcClient({
      baseUrl: server.url,
      apiVersion: '2.1',
      timeoutMs: 5000,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      beforeRequest: async () => {
        recorded.asked += 1;
        return {
          waitedMs: 0,
          validUntil: performance.now() + (options.validForMs ?? 5000),
          sent: async () => {
            recorded.events.push('sent');
          },
          notSent: async () => {
            recorded.events.push('not-sent');
          },
        };
      },
    });
  const list = (ctc: CtcClient) => ctc.listMovements({ type: 'departure', token });

  it('reports the departure when the request is written, before any answer', async () => {
    const recorded: Recorded = { events: [], asked: 0 };
    const server = await serve((_request, response) => {
      recorded.events.push('arrived');
      setTimeout(() => sendJson(response, 200, { totalCount: 0, departures: [] }), 200);
    });
    const result = list(pacedClient(server, recorded, { dispatcher }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(recorded.events).toEqual(['sent', 'arrived']);
    expect((await result).ok).toBe(true);
    expect(recorded.events).toEqual(['sent', 'arrived']);
  });

  it('releases the clearance without a departure when nothing could be sent', async () => {
    const recorded: Recorded = { events: [], asked: 0 };
    const result = await list(
      pacedClient({ url: `http://127.0.0.1:${await closedPort()}` }, recorded, { dispatcher }),
    );
    expect(result).toMatchObject({ ok: false, error: { kind: 'network', outcome: 'not-sent' } });
    expect(recorded.events).toEqual(['not-sent']);
  });

  it('sends nothing on a clearance that lapsed, and asks again', async () => {
    const recorded: Recorded = { events: [], asked: 0 };
    const server = await serve((_request, response) => sendJson(response, 200, {}));
    const result = await list(pacedClient(server, recorded, { validForMs: -1, dispatcher }));
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'network', outcome: 'not-sent', code: 'CLEARANCE_LAPSED' },
    });
    expect(recorded.asked).toBe(3);
    expect(recorded.events).toEqual(['not-sent', 'not-sent', 'not-sent']);
    expect(server.requests).toHaveLength(0);
  });

  it("works without a dispatcher, whatever sits in undici's global slot", async () => {
    // Node's built-in fetch puts its own, older undici Agent there; paced calls must not use it.
    const slot = Symbol.for('undici.globalDispatcher.1');
    const globals = globalThis as unknown as Record<symbol, unknown>;
    const before = globals[slot];
    globals[slot] = {
      dispatch: () => {
        throw new Error('the global dispatcher must not be used for paced calls');
      },
    };
    try {
      const recorded: Recorded = { events: [], asked: 0 };
      const server = await serve((_request, response) =>
        sendJson(response, 200, { totalCount: 0, departures: [] }),
      );
      expect((await list(pacedClient(server, recorded))).ok).toBe(true);
      expect(recorded.events).toEqual(['sent']);
    } finally {
      globals[slot] = before;
    }
  });
});
