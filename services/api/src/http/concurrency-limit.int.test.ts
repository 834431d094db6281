// Risk retired: one API key holding the api process for everyone (many slow downloads of large
// message bodies, each a chunk of memory and a stream of queries, or many slow queries) while
// staying inside its request rate. Each key may have API_MAX_CONCURRENT_REQUESTS_PER_KEY requests
// in progress; the next one is 429, other keys are unaffected, and slots come back on close.
import { connect, type Socket } from 'node:net';
import { waitFor } from '@ctc-hub/testing';
import { seedMessage, seedMovement } from '../test-support/seed.js';
import { keys, startTestApi, type TestApi } from '../test-support/api.js';

const maxConcurrent = 3;
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({
    API_MAX_CONCURRENT_REQUESTS_PER_KEY: String(maxConcurrent),
    API_RATE_LIMIT_PER_SECOND: '0',
  });
});
afterAll(async () => {
  await api?.close();
});

/** A GET whose answer is never read: it stays in progress once the socket buffers are full. */
function stalledDownload(path: string, key: string): Promise<Socket> {
  const { port } = new URL(api.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nAccept: application/vnd.hmrc.2.1+xml\r\n\r\n`,
      );
      // No 'data' listener: the socket stays paused and the server's writes back up.
      resolve(socket);
    });
  });
}

it('answers 429 to a key with its share of requests in progress, and to that key only', async () => {
  // Larger than the socket buffers on both ends, so an unread download cannot finish.
  const body = Buffer.alloc(24 * 1024 * 1024, 'x');
  const movement = await seedMovement(api.db);
  const { messageId } = await seedMessage(api.db, movement, { body, receivedAt: new Date() });
  const bodyPath = `/customs/transits/movements/departures/${movement.movementId}/messages/${messageId}/body`;

  const stalled = await Promise.all(
    Array.from({ length: maxConcurrent }, () => stalledDownload(bodyPath, keys.a)),
  );
  try {
    const refused = await waitFor(
      async () => {
        const answer = await api.get('/customs/transits/movements/departures', { key: keys.a });
        return answer.status === 429 ? answer : undefined;
      },
      { what: 'the key to be at its share', intervalMs: 100 },
    );
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({
      code: 'KEY_LIMIT_REACHED',
      message: expect.stringMatching(/already has 3 requests in progress/),
      limit: 'concurrent-requests',
      max: maxConcurrent,
    });

    // Another key is served, a whole large body included.
    const other = await api.get(bodyPath, {
      key: keys.all,
      headers: { accept: 'application/vnd.hmrc.2.1+xml' },
    });
    expect(other.status).toBe(200);
    expect((await other.arrayBuffer()).byteLength).toBe(body.length);
  } finally {
    for (const socket of stalled) socket.destroy();
  }
  // The key's slots come back once its connections are gone.
  await waitFor(
    async () =>
      (await api.get('/customs/transits/movements/departures', { key: keys.a })).status === 200,
    { what: 'the slots to be released' },
  );
});
