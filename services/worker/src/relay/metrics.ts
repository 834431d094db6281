import { relayLag, type Db } from '@ctc-hub/db';
import type { Meter } from '@ctc-hub/telemetry';

// The worker does not depend on @opentelemetry/api itself; the telemetry package's types do.
type ObservableCallback = Parameters<ReturnType<Meter['createObservableGauge']>['addCallback']>[0];

export type RelayOutcome = 'delivered' | 'retried' | 'failed' | 'parked';

export interface RelayMetrics {
  push: (outcome: RelayOutcome) => void;
  /** Seconds from a notification entering a consumer's box to its successful push. */
  delivered: (seconds: number) => void;
}

/**
 * ctc_relay_pushes_total{outcome}: pushes that got a 200 (delivered), failed and will be
 * retried (retried), failed past the retry window (failed: FAILED and a `relay` dead letter),
 * or had nowhere to go (parked: consumer disabled or without a validated callback).
 * ctc_relay_delivery_seconds: time from entering a consumer's box to the 200.
 * ctc_relay_lag_seconds{consumer}: age of the oldest notification still to be pushed to the
 * consumer (0 when none), read from the database at scrape time, so every replica agrees.
 */
export function createRelayMetrics(db: Db, meter: Meter): RelayMetrics & { close: () => void } {
  const pushes = meter.createCounter('ctc_relay_pushes', {
    description: 'PPNS relay pushes by outcome: delivered, retried, failed, parked',
  });
  const latency = meter.createHistogram('ctc_relay_delivery_seconds', {
    description: 'Time from a notification entering a relay consumer’s box to its delivery',
    unit: 's',
  });
  const lag = meter.createObservableGauge('ctc_relay_lag_seconds', {
    description: 'Age of the oldest notification not yet pushed to the relay consumer',
    unit: 's',
  });
  const observe: ObservableCallback = async (result) => {
    try {
      for (const row of await relayLag(db))
        result.observe(row.seconds, { consumer: row.consumerId });
    } catch {
      // Database unavailable: report nothing rather than a zero that would look healthy.
    }
  };
  lag.addCallback(observe);
  return {
    push: (outcome) => pushes.add(1, { outcome }),
    delivered: (seconds) => latency.record(seconds),
    close: () => lag.removeCallback(observe),
  };
}
