import type { Env } from '@ctc-hub/config';
import type { SandboxControls } from '@ctc-hub/hmrc-sandbox';
import { queueNames } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { hex16, type E2E } from './support.js';

/** Short intervals so a test sees several pulls and sweeps; HMRC's 10 s floor for PPNS stays. */
export const reconcileEnv = (extra: Env = {}): Env => ({
  RECONCILE_ENABLED: 'true',
  RECONCILE_TICK_SECONDS: '1',
  PPNS_PULL_INTERVAL_SECONDS: '10',
  RECONCILE_INTERVAL_SECONDS: '2',
  RECONCILE_GRACE_SECONDS: '1',
  // HMRC's one list call per box every 10 s is tested on its own (ppns-pull-spacing); here a
  // pull's pages may follow each other quickly.
  PPNS_LIST_MIN_GAP_MS: '300',
  ...extra,
});

type MovementType = 'departure' | 'arrival';

export interface Injected {
  type: MovementType;
  movementId: string;
  messageId: string;
  messageType: string;
  notificationId: string | undefined;
  large: boolean;
}

/**
 * A demo-sized day at the trader: 8 movements, 20 NCTS messages, two of them over 80,000 bytes
 * (so PPNS carries no body and they must be fetched).
 */
const demoFlow: { type: MovementType; steps: { messageType: string; size?: number }[] }[] = [
  {
    type: 'departure',
    steps: [{ messageType: 'IE928' }, { messageType: 'IE028' }, { messageType: 'IE029' }],
  },
  {
    type: 'departure',
    steps: [
      { messageType: 'IE928' },
      { messageType: 'IE028' },
      { messageType: 'IE029', size: 100_000 },
    ],
  },
  {
    type: 'departure',
    steps: [
      { messageType: 'IE928' },
      { messageType: 'IE028' },
      { messageType: 'IE060' },
      { messageType: 'IE029' },
    ],
  },
  {
    type: 'departure',
    steps: [{ messageType: 'IE928' }, { messageType: 'IE028' }, { messageType: 'IE051' }],
  },
  { type: 'arrival', steps: [{ messageType: 'IE043', size: 90_000 }, { messageType: 'IE025' }] },
  { type: 'arrival', steps: [{ messageType: 'IE043' }] },
  { type: 'arrival', steps: [{ messageType: 'IE043' }, { messageType: 'IE025' }] },
  { type: 'departure', steps: [{ messageType: 'IE928' }, { messageType: 'IE028' }] },
];

/** Makes the sandbox's NCTS send the demo flow, movement by movement, as push faults allow. */
export function injectDemoFlow(controls: SandboxControls): Injected[] {
  const injected: Injected[] = [];
  for (const movement of demoFlow) {
    const movementId = hex16();
    for (const step of movement.steps) {
      const result = controls.injectMessage(movement.type, movementId, {
        generate: {
          messageType: step.messageType as never,
          ...(step.size ? { size: step.size } : {}),
        },
      });
      injected.push({
        type: movement.type,
        movementId,
        messageId: result.messageId,
        messageType: result.messageType,
        notificationId: result.notificationId,
        large: (step.size ?? 0) > 80_000,
      });
    }
  }
  return injected;
}

/** Every message the sandbox (HMRC) holds, by movement. */
export function messagesAtHmrc(controls: SandboxControls) {
  return controls.movements().flatMap((movement) =>
    movement.messages.map((message) => ({
      type: movement.type,
      movementId: movement.id,
      messageId: message.id,
      bytes: message.body?.length ?? 0,
    })),
  );
}

export interface BoxNotification {
  notificationId: string;
  status: string;
  attempts: number;
  messageId: string;
  movementId: string;
  inline: boolean;
  createdDateTime: string;
}

/** The box as PPNS holds it, with the CTC payload of each notification parsed. */
export function boxNotifications(controls: SandboxControls): BoxNotification[] {
  return controls.notifications().map((notification) => {
    const payload = JSON.parse(notification.message as string) as Record<string, string>;
    return {
      notificationId: notification.notificationId as string,
      status: notification.status as string,
      attempts: notification.attempts,
      messageId: payload.messageId!,
      movementId: (payload.departureId ?? payload.arrivalId)!,
      inline: typeof payload.messageBody === 'string',
      createdDateTime: notification.createdDateTime as string,
    };
  });
}

/** How many `messages` rows we hold per HMRC message id (only ids we hold at all). */
export async function storedRowsPerMessage(e2e: E2E): Promise<Map<string, number>> {
  const rows = await e2e.testDb.db
    .selectFrom('messages')
    .select(['message_id', sql<number>`count(*)::int`.as('rows')])
    .groupBy('message_id')
    .execute();
  return new Map(rows.map((row) => [row.message_id, row.rows]));
}

/** Waits until every message the sandbox holds is stored with us; returns the row counts. */
export async function waitUntilAllStored(
  e2e: E2E,
  timeoutMs = 45_000,
): Promise<Map<string, number>> {
  const controls = e2e.stack.sandbox!.controls;
  return waitFor(
    async () => {
      const stored = await storedRowsPerMessage(e2e);
      const missing = messagesAtHmrc(controls).filter((message) => !stored.has(message.messageId));
      return missing.length === 0 ? stored : undefined;
    },
    { timeoutMs, intervalMs: 250, what: 'every message HMRC holds stored with us' },
  );
}

/** notification_id → number of `notifications` rows. */
export async function notificationRows(
  e2e: E2E,
): Promise<Map<string, { rows: number; source: string }>> {
  const rows = await e2e.testDb.db
    .selectFrom('notifications')
    .select([
      'notification_id',
      sql<number>`count(*)::int`.as('rows'),
      sql<string>`min(source)`.as('source'),
    ])
    .groupBy('notification_id')
    .execute();
  return new Map(rows.map((row) => [row.notification_id, { rows: row.rows, source: row.source }]));
}

/** Waits for the first pull and both first sweeps (at start-up, before anything was injected). */
export async function firstRunsDone(e2e: E2E): Promise<void> {
  const scopes = [
    `ppns:${e2e.stack.env.PPNS_BOX_IDS}`,
    'ctc:GB123456789000:departure',
    'ctc:GB123456789000:arrival',
  ];
  await waitFor(
    async () => {
      const done = await e2e.testDb.db
        .selectFrom('reconcile_state')
        .select('scope')
        .where('scope', 'in', scopes)
        .where('last_success_at', 'is not', null)
        .execute();
      return done.length === scopes.length;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'the first pull and sweeps' },
  );
}

export async function reconcileState(e2e: E2E, scope: string) {
  return e2e.testDb.db
    .selectFrom('reconcile_state')
    .selectAll()
    .where('scope', '=', scope)
    .executeTakeFirst();
}

/** A counter's value on the worker's /metrics (Prometheus text), 0 when absent. */
export async function metricValue(
  e2e: E2E,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(`${e2e.stack.workerUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    if (wanted.every((pair) => labelText.split(',').includes(pair)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** HMRC calls the sandbox answered whose route contains `fragment`, by status. */
export function hmrcCalls(controls: SandboxControls, fragment: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const [endpoint, byStatus] of Object.entries(controls.stats().api)) {
    if (!endpoint.includes(fragment)) continue;
    for (const [status, count] of Object.entries(byStatus))
      calls[status] = (calls[status] ?? 0) + count;
  }
  return calls;
}

export const total = (calls: Record<string, number>): number =>
  Object.values(calls).reduce((sum, count) => sum + count, 0);

/** The stack's BullMQ queues, opened from the test (its own connection). */
export function openQueues(e2e: E2E) {
  const connection = new Redis(e2e.redis.url, { maxRetriesPerRequest: null });
  const open = (name: string) => new Queue(name, { connection, prefix: e2e.redis.prefix });
  const queues = {
    ingest: open(queueNames.ingest),
    hmrc: open(queueNames.hmrc),
    ops: open(queueNames.ops),
  };
  return {
    ...queues,
    /** Resolves once no job waits, runs or is delayed on the ingest and hmrc queues. */
    drained: () =>
      waitFor(
        async () => {
          for (const queue of [queues.ingest, queues.hmrc]) {
            const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
            if (Object.values(counts).some((count) => count > 0)) return false;
          }
          return true;
        },
        { timeoutMs: 45_000, intervalMs: 200, what: 'ingest and hmrc queues drained' },
      ),
    close: async () => {
      await Promise.all(Object.values(queues).map((queue) => queue.close()));
      connection.disconnect();
    },
  };
}
