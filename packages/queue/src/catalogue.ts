import { z } from 'zod';

/**
 * Every queue and job in one place. Producers and processors import the same definitions, so a
 * payload that does not match is caught at the boundary (processors `safeParse` and fail the job
 * as unrecoverable). Job data carries ids and raw payloads, never tokens or secrets.
 */

export const queueNames = {
  /** PPNS notifications accepted by the receiver (or pulled from PPNS), waiting to be stored. */
  ingest: 'ingest',
  /** Every call to HMRC; its limiter is the one rate budget shared by all worker replicas. */
  hmrc: 'hmrc',
  /**
   * Background work that does not call HMRC: reconciliation scheduling, dead-letter replays,
   * webhook delivery, retention. Kept off the hmrc queue so it never waits for the rate budget.
   */
  ops: 'ops',
} as const;

export type QueueName = (typeof queueNames)[keyof typeof queueNames];

/** HMRC queue priorities (BullMQ: lower runs first): submissions before fetches before reconciliation. */
export const hmrcPriority = { submit: 1, fetch: 2, reconcile: 3 } as const;

const traceCarrier = z.object({
  traceparent: z.string().optional(),
  tracestate: z.string().optional(),
});

const movementType = z.enum(['departure', 'arrival']);

export const ingestNotificationData = z.object({
  notificationId: z.string().uuid(),
  boxId: z.string().uuid(),
  /** push: our receiver; pull: PPNS pull during reconciliation; replay: a dead letter replayed. */
  source: z.enum(['push', 'pull', 'replay']),
  /** ISO time our receiver accepted the notification. */
  receivedAt: z.string(),
  /** The PPNS envelope exactly as received (JSON text). */
  envelope: z.string(),
  trace: traceCarrier.default({}),
});

export const fetchMessageData = z.object({
  movementType,
  movementId: z.string().min(1),
  messageId: z.string().min(1),
  /** Validated path under /customs/transits/movements/ (never a URL). */
  messageUri: z.string().min(1),
  /** EORI whose token to use; falls back to the movement's EORI, then HMRC_DEFAULT_EORI. */
  eori: z.string().nullable(),
  notificationId: z.string().uuid().nullable(),
  /** PPNS createdDateTime of that notification (its partition key), ISO. */
  notificationCreatedAt: z.string().nullable(),
  boxId: z.string().uuid().nullable(),
  /** ISO time HMRC received the message, when known (PPNS createdDateTime otherwise). */
  receivedAt: z.string().nullable(),
  messageType: z.string().nullable(),
  source: z.enum(['fetch', 'reconcile']),
  trace: traceCarrier.default({}),
});

/** Send one stored submission (outbox row) to HMRC. */
export const submitData = z.object({
  submissionId: z.string().uuid(),
  trace: traceCarrier.default({}),
});

/** One Guarantee Balance check (a guarantee_checks row) to run against HMRC. */
export const guaranteeBalanceData = z.object({
  checkId: z.string().uuid(),
  trace: traceCarrier.default({}),
});

/**
 * Check a trader connection against HMRC right after its connect flow: which EORI do the
 * movements HMRC lists for the token name? (services/worker/src/connections/verify.ts)
 */
export const verifyConnectionData = z.object({
  eori: z.string(),
  /** The connection to check; a newer consent for the EORI makes the job a no-op. */
  connectionId: z.string().uuid(),
});

/** PPNS pull of one box (hmrc queue, reconcile priority). */
export const ppnsPullData = z.object({ boxId: z.string().uuid() });

/** One page of the CTC sweep: movements of one type updated since the scope's mark. */
export const reconcileMovementsData = z.object({
  eori: z.string(),
  movementType: movementType,
  /** ISO; the sweep's lower bound. */
  updatedSince: z.string(),
  page: z.number().int().positive().default(1),
  /** ISO time the sweep started: becomes the new mark when the last page is done. */
  sweepStartedAt: z.string(),
});

/** The messages of one movement received since the sweep's lower bound. */
export const reconcileMessagesData = z.object({
  eori: z.string(),
  movementType: movementType,
  movementId: z.string(),
  receivedSince: z.string(),
  /**
   * HMRC's `updated` of the movement when the sweep listed it (ISO), when HMRC gave one: the job
   * waits until the PPNS box has been pulled past it (ctc-sweep.ts), and its id carries it, so
   * overlapping sweeps that see the movement unchanged add nothing.
   */
  updated: z.string().optional(),
});

/** Schedules the sweeps and pulls (a repeatable job on the ops queue: one run per tick cluster-wide). */
export const reconcileTickData = z.object({});

/** A bulk replay of dead letters (a `replays` row), paced. */
export const replayData = z.object({ replayId: z.string().uuid() });

export type IngestNotificationData = z.infer<typeof ingestNotificationData>;
export type PpnsPullData = z.infer<typeof ppnsPullData>;
export type VerifyConnectionData = z.infer<typeof verifyConnectionData>;
export type ReconcileMovementsData = z.infer<typeof reconcileMovementsData>;
export type ReconcileMessagesData = z.infer<typeof reconcileMessagesData>;
export type ReplayData = z.infer<typeof replayData>;
export type SubmitData = z.infer<typeof submitData>;
export type GuaranteeBalanceData = z.infer<typeof guaranteeBalanceData>;
export type FetchMessageData = z.infer<typeof fetchMessageData>;

export interface JobDefinition<S extends z.ZodType> {
  queue: QueueName;
  name: string;
  schema: S;
  attempts: number;
  priority?: number;
}

export const jobs = {
  ingestNotification: {
    queue: queueNames.ingest,
    name: 'ingest-notification',
    schema: ingestNotificationData,
    attempts: 10,
  },
  fetchMessage: {
    queue: queueNames.hmrc,
    name: 'fetch-message',
    schema: fetchMessageData,
    attempts: 8,
    priority: hmrcPriority.fetch,
  },
  submit: {
    queue: queueNames.hmrc,
    name: 'submit',
    schema: submitData,
    /** Overridden by SUBMIT_MAX_ATTEMPTS where the job is added. */
    attempts: 8,
    priority: hmrcPriority.submit,
  },
  verifyConnection: {
    queue: queueNames.hmrc,
    name: 'verify-connection',
    schema: verifyConnectionData,
    attempts: 5,
    priority: hmrcPriority.submit,
  },
  ppnsPull: {
    queue: queueNames.hmrc,
    name: 'ppns-pull',
    schema: ppnsPullData,
    attempts: 3,
    priority: hmrcPriority.reconcile,
  },
  reconcileMovements: {
    queue: queueNames.hmrc,
    name: 'reconcile-movements',
    schema: reconcileMovementsData,
    attempts: 5,
    priority: hmrcPriority.reconcile,
  },
  reconcileMessages: {
    queue: queueNames.hmrc,
    name: 'reconcile-messages',
    schema: reconcileMessagesData,
    // Once this job is given up, its movement's window is a gap: the sweep's mark has moved on.
    // 12 attempts (backoff capped at 5 min) outlast an HMRC incident of 10 to 20 minutes.
    attempts: 12,
    priority: hmrcPriority.reconcile,
  },
  reconcileTick: {
    queue: queueNames.ops,
    name: 'reconcile-tick',
    schema: reconcileTickData,
    attempts: 1,
  },
  replay: {
    queue: queueNames.ops,
    name: 'replay',
    schema: replayData,
    attempts: 3,
  },
  guaranteeBalance: {
    queue: queueNames.hmrc,
    name: 'guarantee-balance',
    schema: guaranteeBalanceData,
    // A failed call still burns HMRC's one-minute window for the GRN: never retried blindly.
    attempts: 1,
    priority: hmrcPriority.submit,
  },
} as const satisfies Record<string, JobDefinition<z.ZodType>>;

/** BullMQ job ids may not contain ':'; these are stable per domain object, so re-adds dedupe. */
export const jobIds = {
  ingest: (notificationId: string) => `ntf-${notificationId}`,
  fetch: (movementType: string, movementId: string, messageId: string) =>
    `fetch-${movementType}-${movementId}-${messageId}`,
  submit: (submissionId: string) => `submit-${submissionId}`,
  ppnsPull: (boxId: string) => `pull-${boxId}`,
  /** One page of one sweep: the sweep's start keeps pages of consecutive sweeps apart. */
  reconcileMovements: (eori: string, movementType: string, sweepStartedAt: string, page: number) =>
    `sweep-${eori}-${movementType}-${sweepStartedAt.replace(/[^0-9]/g, '')}-p${page}`,
  /**
   * One check of one movement: keyed on HMRC's `updated` when known (the same movement, unchanged
   * at HMRC, is checked once however many sweeps list it), else on the sweep's lower bound.
   */
  reconcileMessages: (
    movementType: string,
    movementId: string,
    receivedSince: string,
    updated?: string,
  ) =>
    updated === undefined
      ? `sweep-${movementType}-${movementId}-${receivedSince.replace(/[^0-9]/g, '')}`
      : `check-${movementType}-${movementId}-${updated.replace(/[^0-9]/g, '')}`,
  replay: (replayId: string) => `replay-${replayId}`,
  guaranteeBalance: (checkId: string) => `balance-${checkId}`,
  verifyConnection: (connectionId: string) => `verify-${connectionId}`,
};
