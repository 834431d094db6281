/**
 * The naive worker benchmark 2 compares ours with: what a first version of the ingest worker
 * looks like. One BullMQ job at a time per slot (concurrency 50); each job parses the envelope,
 * the payload and the XML once (parseNctsMessage) and stores notification, movement and message
 * in one INSERT transaction of its own. It is correct (idempotent with ON CONFLICT DO NOTHING,
 * so a redelivered job stores nothing twice) but does no batching, no status derivation and
 * writes no change-feed events, so it does strictly less work per notification than ours.
 *
 * Same schema as ours (a database migrated by prepareDatabase), same queue name and job shape.
 * Run in its own process by bench/src/ingest.ts:
 *   DATABASE_URL=… REDIS_URL=… QUEUE_PREFIX=… tsx bench/src/naive-worker.ts   (prints "ready")
 */
import { createHash } from 'node:crypto';
import { createDb, type Db } from '@ctc-hub/db';
import { parseNctsMessage } from '@ctc-hub/ncts';
import { parsePpnsDateTime } from '@ctc-hub/ppns';
import { createRedis, queueNames } from '@ctc-hub/queue';
import { Worker, type Job } from 'bullmq';
import { sql } from 'kysely';

interface Envelope {
  notificationId: string;
  boxId: string;
  message: string;
  createdDateTime: string;
}

interface Payload {
  departureId?: string;
  arrivalId?: string;
  messageId: string;
  messageType?: string;
  enrollmentEORINumber?: string;
  messageBody?: string;
}

async function storeOne(db: Db, data: { envelope: string; receivedAt: string }): Promise<void> {
  const envelope = JSON.parse(data.envelope) as Envelope;
  const payload = JSON.parse(envelope.message) as Payload;
  const movementType = payload.departureId !== undefined ? 'departure' : 'arrival';
  const movementId = payload.departureId ?? payload.arrivalId ?? '';
  const body = Buffer.from(payload.messageBody ?? '', 'utf8');
  const parsed = parseNctsMessage(body);
  if (!parsed.ok) throw new Error(`unparseable message: ${parsed.error.message}`);
  const { summary } = parsed;
  const requestId = `/customs/transits/movements/${movementType}s/${movementId}`;
  const createdAt = parsePpnsDateTime(envelope.createdDateTime) ?? new Date(data.receivedAt);
  await db.transaction().execute(async (trx) => {
    await sql`
      INSERT INTO movements (movement_type, movement_id, enrollment_eori, mrn, lrn, box_id, request_id)
      VALUES (${movementType}, ${movementId}, ${payload.enrollmentEORINumber ?? null},
              ${summary.mrn}, ${summary.lrn}, ${envelope.boxId}, ${requestId})
      ON CONFLICT DO NOTHING`.execute(trx);
    await sql`
      INSERT INTO messages (movement_month, movement_type, movement_id, message_id, message_type,
                            root_element, direction, known_type, received_at,
                            message_identification, mrn, lrn, size_bytes, sha256, summary,
                            source, box_id, request_id, notification_id, body)
      SELECT retention_month, ${movementType}, ${movementId}, ${payload.messageId},
             ${summary.messageType}, ${summary.rootElement}, 'inbound', ${summary.knownType},
             ${createdAt}, ${summary.header.messageIdentification}, ${summary.mrn}, ${summary.lrn},
             ${body.length}, ${createHash('sha256').update(body).digest()},
             ${JSON.stringify(summary)}, 'push', ${envelope.boxId}, ${requestId},
             ${envelope.notificationId}, ${body}
        FROM movements WHERE movement_type = ${movementType} AND movement_id = ${movementId}
      ON CONFLICT DO NOTHING`.execute(trx);
    await sql`
      INSERT INTO notifications (notification_id, created_at, box_id, source, status,
                                 notification_type, movement_type, movement_id, message_id,
                                 message_type, enrollment_eori, envelope, received_at)
      VALUES (${envelope.notificationId}, ${createdAt}, ${envelope.boxId}, 'push', 'stored',
              'MESSAGE_RECEIVED', ${movementType}, ${movementId}, ${payload.messageId},
              ${summary.messageType}, ${payload.enrollmentEORINumber ?? null}, ${data.envelope},
              ${new Date(data.receivedAt)})
      ON CONFLICT DO NOTHING`.execute(trx);
  });
}

export interface NaiveWorkerHandle {
  stop: () => Promise<void>;
}

export function startNaiveWorker(options: {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  concurrency?: number;
  poolMax?: number;
}): NaiveWorkerHandle {
  const db = createDb({
    url: options.databaseUrl,
    poolMax: options.poolMax ?? 10,
    applicationName: 'ctc-bench-naive',
  });
  const connection = createRedis(options.redisUrl, 'worker');
  const worker = new Worker(
    queueNames.ingest,
    (job: Job<{ envelope: string; receivedAt: string }>) => storeOne(db, job.data),
    { connection, prefix: options.prefix, concurrency: options.concurrency ?? 50 },
  );
  worker.on('error', (error) => process.stderr.write(`naive worker: ${error.message}\n`));
  return {
    stop: async () => {
      await worker.close();
      connection.disconnect();
      await db.destroy();
    },
  };
}

if (process.argv[1]?.endsWith('naive-worker.ts')) {
  const env = (name: string) => {
    const value = process.env[name];
    if (value === undefined) throw new Error(`${name} is required`);
    return value;
  };
  const handle = startNaiveWorker({
    databaseUrl: env('DATABASE_URL'),
    redisUrl: env('REDIS_URL'),
    prefix: env('QUEUE_PREFIX'),
    ...(process.env.DATABASE_POOL_MAX !== undefined
      ? { poolMax: Number(process.env.DATABASE_POOL_MAX) }
      : {}),
  });
  process.stdout.write('ready\n');
  const stop = () => void handle.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
