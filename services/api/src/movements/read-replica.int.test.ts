// Risk retired: with DATABASE_READ_URL set, movement and message reads and the change feed come
// from the replica, yet a client is never told "not found" for a movement or message the
// primary already holds (the replica may lag a little behind), a replica that is down does not
// fail reads, and writes never go to the replica. Two databases stand for primary and replica, so the test can see which one answered;
// tests/replica/replica-lag.ts measures a real streaming replica.
import { createDb } from '@ctc-hub/db';
import { freePort } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { startTestApi, type TestApi } from '../test-support/api.js';
import { example, seedMessage, seedMovement } from '../test-support/seed.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({}, { readDatabase: true });
});
afterAll(async () => {
  await api?.close();
});

it('lists from the replica, so a movement only the primary holds is not listed yet', async () => {
  await seedMovement(api.db, { movementId: 'aaaaaaaaaaaa0001', lrn: 'ON-PRIMARY' });
  await seedMovement(api.readDb, { movementId: 'bbbbbbbbbbbb0001', lrn: 'ON-REPLICA' });
  const hmrc = await (await api.get('/customs/transits/movements/departures')).json();
  expect(hmrc.departures.map((movement: { id: string }) => movement.id)).toEqual([
    'bbbbbbbbbbbb0001',
  ]);
});

it('answers a single read the replica has not replayed yet from the primary, never 404', async () => {
  const movement = await seedMovement(api.db, { movementId: 'aaaaaaaaaaaa0002' });
  const message = await seedMessage(api.db, movement, {
    body: example('cc029c-valid.xml'),
    receivedAt: new Date(),
  });
  const read = await api.get(`/customs/transits/movements/departures/${movement.movementId}`);
  expect(read.status).toBe(200);
  expect((await read.json()).id).toBe(movement.movementId);
  const hub = await api.get(`/v1/departures/${movement.movementId}`);
  expect(hub.status).toBe(200);
  const messageRead = await api.get(
    `/customs/transits/movements/departures/${movement.movementId}/messages/${message.messageId}`,
  );
  expect(messageRead.status).toBe(200);
  expect((await messageRead.json()).id).toBe(message.messageId);
  // What neither database holds is still 404, in HMRC's words.
  const missing = await api.get('/customs/transits/movements/departures/ffffffffffff0000');
  expect(missing.status).toBe(404);
  expect((await missing.json()).code).toBe('NOT_FOUND');
});

it('serves the change feed from the replica', async () => {
  await sql`INSERT INTO events (kind, movement_type, movement_id, message_id, eori, data)
            VALUES ('message.received', 'departure', 'bbbbbbbbbbbb0001', 'bbbbbbbbbbbb00e1',
                    'GB000000000001', '{}')`.execute(api.readDb);
  const feed = await (await api.get('/v1/events')).json();
  expect(feed.events.map((event: { messageId: string }) => event.messageId)).toEqual([
    'bbbbbbbbbbbb00e1',
  ]);
});

it('reads from the primary while the replica refuses connections', async () => {
  // Nothing listens on this port: every replica query fails with ECONNREFUSED.
  const down = createDb({
    url: `postgres://postgres@127.0.0.1:${await freePort()}/none`,
    poolMax: 1,
  });
  const degraded = await startTestApi({}, { readDb: down });
  try {
    const movement = await seedMovement(degraded.db, { movementId: 'aaaaaaaaaaaa0003' });
    const list = await degraded.get('/customs/transits/movements/departures');
    expect(list.status).toBe(200);
    expect((await list.json()).departures.map((entry: { id: string }) => entry.id)).toEqual([
      movement.movementId,
    ]);
    expect((await degraded.get(`/v1/departures/${movement.movementId}`)).status).toBe(200);
  } finally {
    await degraded.close();
    await down.destroy();
  }
});
