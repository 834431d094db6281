import type { MovementType } from '@ctc-hub/db';
import { movementPath, parseCtcPayload, parseEnvelope, type CtcPayload } from '@ctc-hub/ppns';
import { ingestNotificationData, jobIds } from '@ctc-hub/queue';
import type { Job } from 'bullmq';
import { Router, type Request } from 'express';
import type { ApiDeps } from '../deps.js';
import {
  canSeeEori,
  eoriFilter,
  isOperator,
  principalOf,
  type ApiPrincipal,
} from '../http/auth.js';
import { ApiError, badRequest, notFound, route } from '../http/errors.js';
import { iso, messagePath, messagesPath } from '../http/hateoas.js';
import { parsePaging, readPage } from '../http/paging.js';
import {
  dateTimeParam,
  parseIsoDateTime,
  textParam,
  untilExclusive,
  uuidParam,
  uuidQuery,
  withQuery,
} from '../http/params.js';
import {
  findNotification,
  listNotifications,
  movementEoris,
  type NotificationRow,
} from './queries.js';

/**
 * GET /v1/notifications/{notificationId}: what became of a PPNS notification.
 *  - a row in `notifications` → its status (stored, duplicate, quarantined, queued), times, error
 *    history and links to the movement and message it carried;
 *  - no row yet, but the ingest job is still in Redis (accepted by the receiver, not yet stored)
 *    → status `queued`, described from the job's data (the envelope as received), plus the job's
 *    state and attempts;
 *  - neither → 404.
 * Scoped API keys see a notification only when its EORI (or its movement's) is theirs.
 *
 * GET /v1/notifications?status=&boxId=&from=&to=&page=&count=: the stored notifications, newest
 * first by PPNS createdDateTime (from/to bound it), scoped the same way. Those still queued in
 * Redis are not listed (ask for one by id, or see /ops).
 */
export function notificationRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get(
    '/v1/notifications',
    route(async (request, response) => {
      response.json(await notificationList(deps, request));
    }),
  );
  router.get(
    '/v1/notifications/:notificationId',
    route(async (request, response) => {
      response.json(await notificationStatus(deps, request));
    }),
  );
  return router;
}

const notificationNotFound = (notificationId: string) =>
  notFound(`Notification ${notificationId} was not found`);

async function notificationStatus(
  deps: ApiDeps,
  request: Request,
): Promise<Record<string, unknown>> {
  const notificationId = uuidParam(request, 'notificationId');
  const principal = principalOf(request);

  const row = await findNotification(deps.db, notificationId);
  if (row !== undefined) return visibleRow(deps, principal, row);

  const found = await readQueue(deps, notificationId, async () => {
    const job = await deps.ingestQueue.getJob(jobIds.ingest(notificationId));
    return job === undefined ? undefined : { job, state: await job.getState() };
  });
  if (found === undefined) throw notificationNotFound(notificationId);
  const { job, state } = found;
  if (state === 'completed') {
    // The worker stored it between our two reads.
    const stored = await findNotification(deps.db, notificationId);
    if (stored !== undefined) return visibleRow(deps, principal, stored);
  }
  const queued = describeJob(notificationId, job, state);
  if (!(await maySee(deps, principal, queued.eori, queued.movement))) {
    throw notificationNotFound(notificationId);
  }
  return queued.body;
}

/** How long a status request waits for Redis before answering 503. */
const queueReadTimeoutMs = 2000;

/**
 * Reads the ingest queue, failing closed but honestly: without Redis we cannot tell "queued" from
 * "unknown", so the answer is 503, not 404. The deadline matters: BullMQ waits for a connection
 * that never became ready, and a blackholed Redis never answers, so without it the request hangs.
 */
async function readQueue<T>(
  deps: ApiDeps,
  notificationId: string,
  read: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${queueReadTimeoutMs} ms`)),
      queueReadTimeoutMs,
    );
  });
  try {
    return await Promise.race([read(), deadline]);
  } catch (error) {
    deps.logger.warn({ err: error, notificationId }, 'ingest queue unreadable');
    throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'The ingest queue cannot be read; try again');
  } finally {
    clearTimeout(timer);
  }
}

const listStatuses: readonly NotificationRow['status'][] = [
  'stored',
  'duplicate',
  'quarantined',
  'queued',
];

async function notificationList(deps: ApiDeps, request: Request) {
  const rawStatus = textParam(request, 'status');
  const status = listStatuses.find((candidate) => candidate === rawStatus);
  if (rawStatus !== undefined && status === undefined)
    throw badRequest(`The status parameter must be one of ${listStatuses.join(', ')}`);
  const boxId = uuidQuery(request, 'boxId');
  const from = dateTimeParam(request, 'from');
  const to = dateTimeParam(request, 'to');
  const paging = parsePaging(request);
  const page = await readPage(paging, (limit, offset) =>
    listNotifications(
      deps.db,
      {
        eoris: eoriFilter(principalOf(request)),
        ...(status !== undefined && { status }),
        ...(boxId !== undefined && { boxId }),
        ...(from && { from: from.date }),
        ...(to && { before: untilExclusive(to.date) }),
      },
      limit,
      offset,
    ),
  );
  return {
    _links: {
      self: {
        href: withQuery('/v1/notifications', [
          ['status', status],
          ['boxId', boxId],
          ['from', from?.raw],
          ['to', to?.raw],
          ['page', paging.pageGiven],
          ['count', paging.countGiven],
        ]),
      },
    },
    totalCount: page.totalCount,
    notifications: page.items.map((row) => ({
      _links: { self: { href: `/v1/notifications/${row.notification_id}` } },
      ...notificationJson(row),
    })),
  };
}

async function visibleRow(
  deps: ApiDeps,
  principal: ApiPrincipal,
  row: NotificationRow,
): Promise<Record<string, unknown>> {
  const movement =
    row.movement_type !== null && row.movement_id !== null
      ? { type: row.movement_type, id: row.movement_id }
      : undefined;
  if (!(await maySee(deps, principal, row.enrollment_eori, movement))) {
    throw notificationNotFound(row.notification_id);
  }
  return notificationJson(row);
}

function notificationJson(row: NotificationRow): Record<string, unknown> {
  const movement =
    row.movement_type !== null && row.movement_id !== null
      ? { type: row.movement_type, id: row.movement_id }
      : undefined;
  return {
    notificationId: row.notification_id,
    boxId: row.box_id,
    status: row.status,
    source: row.source,
    createdDateTime: iso(row.created_at),
    receivedAt: iso(row.received_at),
    processedAt: iso(row.processed_at),
    error: row.error,
    errorHistory: row.error_history,
    notificationType: row.notification_type,
    movement: movementRef(movement),
    message: messageRef(movement, row.message_id, row.message_type),
  };
}

interface MovementKey {
  type: MovementType;
  id: string;
}

/**
 * A scoped key sees a notification whose EORI is one of its own. Notifications that name no
 * EORI (v2 `enrollmentEORINumber` is optional) fall back to their movement's EORIs; with neither,
 * only unscoped keys see them. Nothing of a quarantined movement is shown to a scoped key.
 */
async function maySee(
  deps: ApiDeps,
  principal: ApiPrincipal,
  eori: string | null,
  movement: MovementKey | undefined,
): Promise<boolean> {
  if (isOperator(principal)) return true;
  const eoris =
    movement === undefined ? undefined : await movementEoris(deps.db, movement.type, movement.id);
  if (eoris?.quarantined === true) return false;
  if (canSeeEori(principal, eori)) return true;
  if (eori !== null) return false;
  return (
    eoris !== undefined &&
    (canSeeEori(principal, eoris.enrollment_eori) || canSeeEori(principal, eoris.movement_eori))
  );
}

function movementRef(movement: MovementKey | undefined) {
  if (movement === undefined) return null;
  return {
    type: movement.type,
    id: movement.id,
    _links: {
      self: { href: movementPath(movement.type, movement.id) },
      messages: { href: messagesPath(movement.type, movement.id) },
    },
  };
}

function messageRef(
  movement: MovementKey | undefined,
  messageId: string | null,
  messageType: string | null,
) {
  if (movement === undefined || messageId === null) return null;
  const path = messagePath(movement.type, movement.id, messageId);
  return {
    id: messageId,
    type: messageType,
    _links: { self: { href: path }, body: { href: `${path}/body` } },
  };
}

/** What a queued job tells about its notification: all of it comes from the raw envelope. */
function describeJob(notificationId: string, job: Job, state: string) {
  const data = ingestNotificationData.safeParse(job.data);
  const envelope = data.success ? parseEnvelope(data.data.envelope) : undefined;
  let payload: CtcPayload | undefined;
  if (envelope?.ok === true) {
    const parsed = parseCtcPayload(envelope.envelope.message);
    if (parsed.ok) payload = parsed.payload;
  }
  const movement = payload && { type: payload.movementType, id: payload.movementId };
  const receivedAt = data.success ? parseIsoDateTime(data.data.receivedAt) : undefined;
  return {
    eori: payload?.eori ?? null,
    movement,
    body: {
      notificationId,
      boxId: data.success ? data.data.boxId : null,
      status: 'queued',
      source: data.success ? data.data.source : null,
      createdDateTime: envelope?.ok === true ? iso(envelope.envelope.createdAt) : null,
      receivedAt: receivedAt === undefined ? null : iso(receivedAt),
      processedAt: null,
      error: job.failedReason ?? null,
      errorHistory: [],
      notificationType: payload?.notificationType ?? null,
      movement: movementRef(movement),
      message: messageRef(movement, payload?.messageId ?? null, payload?.messageType ?? null),
      // Not in the stored form: where the job is (waiting, active, delayed for a retry, …).
      queue: { state, attemptsMade: job.attemptsMade },
    },
  };
}
