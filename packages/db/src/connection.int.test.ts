// A client in use that loses its connection (PostgreSQL restarted, network cut) must fail its
// query, not crash the process: pg emits 'error' on the checked-out client, where no pool
// listener is attached. Found by the fault suite (tests/faults/postgres.int.test.ts).
import { createTestDatabase, TcpProxy, type TestDatabase } from '@ctc-hub/testing';
import { createPool } from './connection.js';

let testDb: TestDatabase;
let proxy: TcpProxy;
beforeAll(async () => {
  testDb = await createTestDatabase();
  proxy = TcpProxy.forUrl(testDb.url);
  await proxy.start();
});
afterAll(async () => {
  await proxy?.stop();
  await testDb?.destroy();
});

it('fails the query of a checked-out client whose connection drops, without an unhandled error', async () => {
  const pool = createPool({ url: proxy.rewrite(testDb.url), poolMax: 1 });
  const client = await pool.connect();
  await client.query('BEGIN');
  const ended = new Promise((resolve) => client.once('end', resolve));
  await proxy.stop();
  await ended;
  // An 'error' event without a listener would have been thrown from the socket callback.
  await expect(client.query('SELECT 1')).rejects.toThrow();
  client.release(true);
  await proxy.start();
  const fresh = await pool.query('SELECT 1 AS one');
  expect(fresh.rows).toEqual([{ one: 1 }]);
  await pool.end();
});
