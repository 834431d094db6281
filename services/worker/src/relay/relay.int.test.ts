// Risk retired: worker replicas pushing the same notification twice, or one notification's
// failures holding back the others; relay secrets left under a key being rotated out; a scoped
// consumer receiving a notification of a quarantined movement.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  insertRelayConsumer,
  queueForRelay,
  relaySecretContext,
  updateRelayConsumer,
  type Db,
} from '@ctc-hub/db';
import { TokenCipher } from '@ctc-hub/hmrc-client';
import { verifySignature } from '@ctc-hub/ppns';
import { createLogger } from '@ctc-hub/telemetry';
import { createTestDatabase, ppnsEnvelope, waitFor, type TestDatabase } from '@ctc-hub/testing';
import type { RelayMetrics, RelayOutcome } from './metrics.js';
import { createRelay } from './relay.js';
import { reencryptRelaySecrets } from './secrets.js';

const logger = createLogger({ service: 'relay-test', level: 'silent' });
const cipher = new TokenCipher([randomBytes(32)]);
const secret = 'RELAYTESTSECRET00000000000000000';

let testDb: TestDatabase;
let server: Server;
let url: string;
const received: { id: string; raw: Buffer; signature: string | undefined }[] = [];
/** What the consumer answers a push; 200 unless a test says otherwise. */
let answer: (notificationId: string) => number = () => 200;

beforeAll(async () => {
  testDb = await createTestDatabase();
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const id = JSON.parse(raw.toString()).notificationId as string;
      received.push({ id, raw, signature: request.headers['x-hub-signature'] as string });
      response.writeHead(answer(id)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`;
});
afterAll(async () => {
  server.close();
  await testDb.destroy();
});
beforeEach(async () => {
  received.length = 0;
  answer = () => 200;
  await testDb.db.deleteFrom('relay_consumers').execute();
});

function recorder(): RelayMetrics & { counts: Record<RelayOutcome, number> } {
  const counts: Record<RelayOutcome, number> = { delivered: 0, retried: 0, failed: 0, parked: 0 };
  return { counts, push: (outcome) => (counts[outcome] += 1), delivered: () => undefined };
}

/** The relay as the worker runs it: a pass every 20 ms, never two at once. */
function relay(db: Db, metrics = recorder(), windowSeconds = 60) {
  const relay = createRelay({
    db,
    cipher,
    logger,
    metrics,
    retryIntervalMs: 100,
    retryWindowSeconds: windowSeconds,
    pushTimeoutMs: 2000,
    parallelism: 4,
    retentionDays: 30,
  });
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await relay.runOnce();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      relay.abort();
      await loop;
    },
  };
}

async function consumer(eoris: string[] | null = null) {
  const id = randomUUID();
  await insertRelayConsumer(testDb.db, {
    id,
    name: 'test',
    boxId: randomUUID(),
    callbackUrl: url,
    secret: cipher.encrypt(secret, relaySecretContext(id)),
    eoris,
    createdBy: 'test',
    validated: true,
  });
  return id;
}

/** Stored notifications, as ingest leaves them, queued for the relay in their transaction. */
async function store(
  count: number,
  eori = 'GB000000000001',
  movementId = randomUUID().slice(0, 16),
) {
  const ids = Array.from({ length: count }, () => randomUUID());
  const createdAt = new Date();
  await testDb.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('notifications')
      .values(
        ids.map((id) => ({
          notification_id: id,
          created_at: createdAt,
          box_id: randomUUID(),
          source: 'push' as const,
          status: 'stored' as const,
          payload_version: 'v2',
          notification_type: 'MESSAGE_RECEIVED',
          movement_type: 'departure' as const,
          movement_id: movementId,
          message_id: null,
          message_type: 'IE028',
          enrollment_eori: eori,
          envelope: ppnsEnvelope({ notificationId: id, createdAt }),
          error: null,
          received_at: createdAt,
          trace_id: null,
        })),
      )
      .execute();
    await queueForRelay(
      trx,
      ids.map((notificationId) => ({ notificationId, createdAt })),
    );
  });
  return ids;
}

it('two replicas push each notification once, signed over the exact bytes', async () => {
  await consumer();
  const ids = await store(24);
  const replicas = [relay(testDb.db), relay(testDb.db)];
  try {
    await waitFor(() => received.length >= 24, { what: '24 pushes' });
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    await Promise.all(replicas.map((replica) => replica.stop()));
  }
  expect(received.map((push) => push.id).sort()).toEqual([...ids].sort());
  for (const push of received)
    expect(verifySignature([secret], push.raw, push.signature)).toBe(true);
  const statuses = await testDb.db.selectFrom('relay_notifications').select(['status']).execute();
  expect(statuses.every((row) => row.status === 'ACKNOWLEDGED')).toBe(true);
  // The outbox is drained.
  expect(await testDb.db.selectFrom('relay_outbox').selectAll().execute()).toEqual([]);
});

it('retries a failing notification without holding back the others, then gives up: FAILED and a dead letter', async () => {
  await consumer();
  const [stuck, ...others] = await store(4);
  answer = (id) => (id === stuck ? 503 : 200);
  const metrics = recorder();
  const running = relay(testDb.db, metrics, 1);
  try {
    await waitFor(
      () =>
        testDb.db
          .selectFrom('dead_letters')
          .selectAll()
          .where('kind', '=', 'relay')
          .where('notification_id', '=', stuck!)
          .executeTakeFirst(),
      { what: 'the relay dead letter' },
    );
  } finally {
    await running.stop();
  }
  const delivered = new Set(received.filter((push) => push.id !== stuck).map((push) => push.id));
  expect(delivered).toEqual(new Set(others));
  expect(received.filter((push) => push.id === stuck).length).toBeGreaterThan(1);
  const row = await testDb.db
    .selectFrom('relay_notifications')
    .selectAll()
    .where('notification_id', '=', stuck!)
    .executeTakeFirstOrThrow();
  expect(row).toMatchObject({ status: 'FAILED', next_attempt_at: null });
  expect(row.last_error).toMatch(/HTTP_503/);
  expect(metrics.counts).toMatchObject({ delivered: 3, failed: 1 });
  expect(metrics.counts.retried).toBeGreaterThan(0);
});

it('does not give a scoped consumer another trader’s or a quarantined movement’s notifications', async () => {
  const scoped = await consumer(['GB000000000001']);
  const everyone = await consumer(null);
  const quarantinedMovement = randomUUID().slice(0, 16);
  await testDb.db
    .insertInto('movements')
    .values({
      movement_type: 'departure',
      movement_id: quarantinedMovement,
      enrollment_eori: 'GB000000000001',
      quarantined_at: new Date(),
      request_id: '/customs/transits/movements/departures/x',
    } as never)
    .execute();
  const [mine] = await store(1, 'GB000000000001');
  const [theirs] = await store(1, 'GB000000000002');
  const [hidden] = await store(1, 'GB000000000001', quarantinedMovement);
  const running = relay(testDb.db);
  try {
    await waitFor(() => received.length >= 4, { what: 'four pushes' });
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    await running.stop();
  }
  const boxOf = async (consumerId: string) =>
    (
      await testDb.db
        .selectFrom('relay_notifications')
        .select('notification_id')
        .where('consumer_id', '=', consumerId)
        .execute()
    )
      .map((row) => row.notification_id)
      .sort();
  expect(await boxOf(scoped)).toEqual([mine]);
  expect(await boxOf(everyone)).toEqual([mine, theirs, hidden].sort());
});

it('a disabled consumer collects its notifications unpushed; re-enabled, it gets them', async () => {
  const id = await consumer();
  await updateRelayConsumer(testDb.db, id, { enabled: false });
  const ids = await store(3);
  const running = relay(testDb.db);
  try {
    await waitFor(
      async () =>
        (await testDb.db.selectFrom('relay_notifications').select('status').execute()).length === 3,
      { what: 'three in the box' },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toEqual([]);
    await updateRelayConsumer(testDb.db, id, { enabled: true });
    await waitFor(() => received.length >= 3, { what: 'three pushes once re-enabled' });
  } finally {
    await running.stop();
  }
  expect(received.map((push) => push.id).sort()).toEqual([...ids].sort());
});

it('narrowing a consumer’s EORIs empties its box of what the new list may not see', async () => {
  const id = await consumer(['GB000000000001', 'GB000000000002']);
  await updateRelayConsumer(testDb.db, id, { enabled: false });
  const [mine] = await store(1, 'GB000000000001');
  await store(1, 'GB000000000002');
  const running = relay(testDb.db);
  const box = async () =>
    (
      await testDb.db
        .selectFrom('relay_notifications')
        .select('notification_id')
        .where('consumer_id', '=', id)
        .execute()
    ).map((row) => row.notification_id);
  try {
    await waitFor(async () => (await box()).length === 2, { what: 'both in the box' });
  } finally {
    await running.stop();
  }
  await updateRelayConsumer(testDb.db, id, { eoris: ['GB000000000001'] });
  expect(await box()).toEqual([mine]);
});

it('re-encrypts consumers’ secrets with the newest key, so the old key can go', async () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const id = randomUUID();
  await insertRelayConsumer(testDb.db, {
    id,
    name: 'old key',
    boxId: randomUUID(),
    callbackUrl: url,
    secret: new TokenCipher([oldKey]).encrypt(secret, relaySecretContext(id)),
    eoris: null,
    createdBy: 'test',
    validated: true,
  });
  expect(await reencryptRelaySecrets(testDb.db, new TokenCipher([newKey, oldKey]))).toEqual({
    reencrypted: 1,
    failed: 0,
  });
  const row = await testDb.db
    .selectFrom('relay_consumers')
    .select('secret')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  expect(new TokenCipher([newKey]).decrypt(row.secret!, relaySecretContext(id))).toEqual({
    ok: true,
    plaintext: secret,
  });
});
