import { latencyBucketsSeconds, type Meter } from '@ctc-hub/telemetry';

export type ReceiverOutcome =
  | 'accepted'
  | 'invalid_signature'
  | 'invalid_envelope'
  | 'unknown_box'
  | 'source_not_allowed'
  | 'too_large'
  | 'unsupported_media_type'
  | 'queue_unavailable'
  | 'bad_request';

export function receiverMetrics(meter: Meter) {
  const notifications = meter.createCounter('ctc_receiver_notifications', {
    description: 'PPNS notifications answered by the receiver, by outcome',
  });
  const ackDuration = meter.createHistogram('ctc_receiver_ack_duration_seconds', {
    description: 'Time from request start to the answer sent to PPNS',
    unit: 's',
    advice: { explicitBucketBoundaries: latencyBucketsSeconds },
  });
  return {
    record(outcome: ReceiverOutcome, startedAt: bigint): void {
      notifications.add(1, { outcome });
      ackDuration.record(Number(process.hrtime.bigint() - startedAt) / 1e9, { outcome });
    },
  };
}
