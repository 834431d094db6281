import { latencyBucketsSeconds, sizeBucketsBytes, type Meter } from '@ctc-hub/telemetry';
import type { Queue } from 'bullmq';

/** Seconds to HMRC's answer: most in under a second, retries for minutes, outages for hours. */
const submissionAnswerBucketsSeconds = [
  0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 7200,
];

export function ingestMetrics(meter: Meter) {
  return {
    notifications: meter.createCounter('ctc_ingest_notifications', {
      description:
        'Notifications processed by the worker, by outcome (stored, duplicate, queued, quarantined, redelivered)',
    }),
    receivedToStored: meter.createHistogram('ctc_ingest_latency_seconds', {
      description: 'From our receiver accepting a notification to its message being committed',
      unit: 's',
      advice: { explicitBucketBoundaries: latencyBucketsSeconds },
    }),
    createdToStored: meter.createHistogram('ctc_ingest_end_to_end_latency_seconds', {
      description: 'From PPNS createdDateTime to the message being committed',
      unit: 's',
      advice: { explicitBucketBoundaries: latencyBucketsSeconds },
    }),
    fetchBytes: meter.createHistogram('ctc_fetch_message_bytes', {
      description: 'Size of message bodies fetched from HMRC by URI',
      unit: 'By',
      advice: { explicitBucketBoundaries: sizeBucketsBytes },
    }),
    fetchDuration: meter.createHistogram('ctc_fetch_duration_seconds', {
      description: 'Fetching a message body from HMRC, by outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: latencyBucketsSeconds },
    }),
    // Exported as ctc_reconcile_recovered_messages_total and ctc_reconcile_runs_total (the
    // Prometheus exporter adds _total to counters); dashboards and alerts use those names.
    reconcileRecovered: meter.createCounter('ctc_reconcile_recovered_messages', {
      description:
        'Messages push had missed, stored because reconciliation found them (via = pull | sweep)',
    }),
    // Exported as ctc_connection_mismatches_total.
    connectionMismatches: meter.createCounter('ctc_connection_mismatches', {
      description:
        'HMRC connections found acting for another EORI than they are filed under (token no longer used, data quarantined)',
    }),
    // Exported as ctc_submissions_total{outcome, message_type}.
    submissions: meter.createCounter('ctc_submissions', {
      description:
        'Declarations settled by the worker, by outcome (accepted, rejected: HMRC answered; failed: we gave up) and message type',
    }),
    submissionAttempts: meter.createHistogram('ctc_submission_attempts', {
      description: 'Attempts a declaration took until it was settled, by outcome',
      advice: { explicitBucketBoundaries: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20] },
    }),
    submissionAnswer: meter.createHistogram('ctc_submission_answer_seconds', {
      description:
        "From a declaration being queued to HMRC's answer (accepted or rejected), retries and rate-limit waits included",
      unit: 's',
      advice: { explicitBucketBoundaries: submissionAnswerBucketsSeconds },
    }),
    reconcileRuns: meter.createCounter('ctc_reconcile_runs', {
      description:
        "Reconciliation by kind (ppns | ctc): outcome ok per completed pull or sweep, error per failed attempt (a pull, a sweep page, a movement's message list)",
    }),
  };
}

export type IngestMetrics = ReturnType<typeof ingestMetrics>;

const states = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * Queue depth by state and the age of the oldest waiting job, read from Redis at scrape time.
 * Registered by the worker only (one set per process), so the gauges are not doubled when all
 * services share a process.
 */
export function registerQueueMetrics(meter: Meter, queues: readonly Queue[]): void {
  const depth = meter.createObservableGauge('ctc_queue_jobs', {
    description: 'Jobs per queue and state',
  });
  const oldest = meter.createObservableGauge('ctc_queue_oldest_waiting_age_seconds', {
    description: 'Age of the oldest job waiting to run (0 when none)',
    unit: 's',
  });
  depth.addCallback(async (result) => {
    await Promise.all(
      queues.map(async (queue) => {
        try {
          const counts = await queue.getJobCounts(...states);
          for (const state of states)
            result.observe(counts[state] ?? 0, { queue: queue.name, state });
        } catch {
          // Redis unavailable: report nothing rather than zeros that would look healthy.
        }
      }),
    );
  });
  oldest.addCallback(async (result) => {
    await Promise.all(
      queues.map(async (queue) => {
        try {
          const jobs = await queue.getJobs(['wait', 'prioritized'], 0, 0, true);
          const oldestAt = Math.min(...jobs.map((job) => job.timestamp));
          result.observe(jobs.length === 0 ? 0 : Math.max(0, (Date.now() - oldestAt) / 1000), {
            queue: queue.name,
          });
        } catch {
          // as above
        }
      }),
    );
  });
}
