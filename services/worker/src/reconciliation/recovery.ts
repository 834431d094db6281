import type { Db } from '@ctc-hub/db';
import type { MovementType } from '@ctc-hub/ppns';
import type { FetchMessageData } from '@ctc-hub/queue';
import type { Logger } from '@ctc-hub/telemetry';
import type { IngestMetrics } from '../runtime/metrics.js';
import { addRecovered, ctcScope, ppnsScope } from './state.js';

/**
 * A recovery is a message that push had missed and reconciliation got stored: by the PPNS pull
 * (the notification was still in the box) or by the CTC sweep (PPNS never had it). Each is a
 * counter increment, a warn line and reconcile_state.recovered + 1 on its scope: a steady stream
 * of them means push is losing messages, which someone should look at.
 */

export type RecoveryVia = 'pull' | 'sweep';

export interface RecoveryDeps {
  db: Db;
  logger: Logger;
  metrics: Pick<IngestMetrics, 'reconcileRecovered'>;
}

export interface Recovery {
  via: RecoveryVia;
  scope: string;
  movementType: MovementType;
  movementId: string;
  messageId: string;
  messageType: string | null;
  notificationId: string | null;
}

export async function recordRecovery(deps: RecoveryDeps, recovery: Recovery): Promise<void> {
  deps.metrics.reconcileRecovered.add(1, { via: recovery.via });
  deps.logger.warn(
    {
      via: recovery.via,
      scope: recovery.scope,
      movementType: recovery.movementType,
      movementId: recovery.movementId,
      messageId: recovery.messageId,
      messageType: recovery.messageType,
      notificationId: recovery.notificationId,
    },
    'message recovered by reconciliation: push had missed it',
  );
  // The message is committed already: a failure here must not fail (and repeat) the job, which
  // would find the message stored and count nothing. The counter above is the primary signal.
  await addRecovered(deps.db, recovery.scope, 1).catch((error: unknown) =>
    deps.logger.warn({ err: error, scope: recovery.scope }, 'could not count a recovery'),
  );
}

/**
 * After a fetch stored a new message: was it a recovery? A fetch queued by the sweep is; one
 * queued by a notification is when that notification came from the PPNS pull (a message over
 * 80,000 bytes whose push was lost still needs its body fetched).
 */
export async function recordFetchRecovery(
  deps: RecoveryDeps,
  data: FetchMessageData,
  eori: string,
): Promise<void> {
  const base = {
    movementType: data.movementType,
    movementId: data.movementId,
    messageId: data.messageId,
    messageType: data.messageType,
    notificationId: data.notificationId,
  };
  if (data.source === 'reconcile') {
    await recordRecovery(deps, { ...base, via: 'sweep', scope: ctcScope(eori, data.movementType) });
    return;
  }
  if (data.notificationId === null || data.notificationCreatedAt === null) return;
  const notification = await deps.db
    .selectFrom('notifications')
    .select(['source', 'box_id'])
    .where('notification_id', '=', data.notificationId)
    .where('created_at', '=', new Date(data.notificationCreatedAt))
    .executeTakeFirst()
    .catch(() => undefined);
  if (notification?.source !== 'pull') return;
  await recordRecovery(deps, { ...base, via: 'pull', scope: ppnsScope(notification.box_id) });
}
