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

export type IngestNotificationData = z.infer<typeof ingestNotificationData>;
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
  guaranteeBalance: (checkId: string) => `balance-${checkId}`,
};
