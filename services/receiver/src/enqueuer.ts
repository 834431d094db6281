import {
  ingestNotificationData,
  jobIds,
  jobOptions,
  jobs,
  MicroBatcher,
  type IngestNotificationData,
} from '@ctc-hub/queue';
import type { Queue } from 'bullmq';

export type EnqueueResult =
  { ok: true } | { ok: false; reason: 'timeout' | 'unavailable'; detail: string };

/**
 * Puts accepted notifications on the ingest queue. Requests arriving in the same tick share one
 * `addBulk` (one Redis round trip for many notifications); each caller is answered only when
 * Redis has accepted its batch, or told it failed within `timeoutMs`, so the receiver never says
 * 200 for a notification that is not durably queued.
 */
export class IngestEnqueuer {
  private readonly batcher: MicroBatcher<IngestNotificationData, undefined>;

  constructor(
    private readonly queue: Queue,
    private readonly timeoutMs: number,
    { maxBatch = 200 } = {},
  ) {
    this.batcher = new MicroBatcher<IngestNotificationData, undefined>({
      maxSize: maxBatch,
      maxWaitMs: 0,
      maxInFlight: 4,
      flush: async (items) => {
        await this.queue.addBulk(
          items.map((data) => ({
            name: jobs.ingestNotification.name,
            data,
            opts: jobOptions(jobs.ingestNotification, {
              jobId: jobIds.ingest(data.notificationId),
            }),
          })),
        );
        return items.map(() => undefined);
      },
    });
  }

  async enqueue(data: IngestNotificationData): Promise<EnqueueResult> {
    // A schema mismatch here is our bug, not the sender's: it surfaces as a 5xx.
    ingestNotificationData.parse(data);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<EnqueueResult>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            ok: false,
            reason: 'timeout',
            detail: `Redis did not accept the job within ${this.timeoutMs} ms`,
          }),
        this.timeoutMs,
      );
    });
    const added = this.batcher.add(data).then(
      (): EnqueueResult => ({ ok: true }),
      (error: unknown): EnqueueResult => ({
        ok: false,
        reason: 'unavailable',
        detail: (error as Error).message,
      }),
    );
    try {
      return await Promise.race([added, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.batcher.close();
  }
}
