import { decodeCursor, feedStart, nextEventTime, type Db } from '@ctc-hub/db';
import type { Meter } from '@ctc-hub/telemetry';

// The worker does not depend on @opentelemetry/api itself; the telemetry package's types do.
type ObservableCallback = Parameters<ReturnType<Meter['createObservableGauge']>['addCallback']>[0];

export type DeliveryOutcome = 'delivered' | 'retried' | 'dead_lettered';

/** What the dispatcher reports; tests pass a recorder, the worker the instruments below. */
export interface WebhookMetrics {
  delivery: (outcome: DeliveryOutcome, url: string) => void;
}

/**
 * A URL as a metric label: origin and path only, since userinfo and query strings may carry
 * credentials. Bounded: one value per configured URL.
 */
export function urlLabel(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/**
 * ctc_webhook_deliveries_total{outcome="delivered"|"retried"|"dead_lettered", url}: POSTs that
 * succeeded, failed attempts that will be retried, events given up on.
 * ctc_webhook_lag_seconds{url}: age of the oldest event not yet delivered to the URL (the next
 * one in feed order, committed or still held behind a running transaction), 0 when none; read
 * from the database at scrape time, so every replica reports the same value.
 * Dashboards are built on these names.
 */
export function createWebhookMetrics(
  db: Db,
  urls: readonly string[],
  meter: Meter,
): WebhookMetrics & { close: () => void } {
  const deliveries = meter.createCounter('ctc_webhook_deliveries', {
    description:
      'Webhook deliveries by outcome: delivered, retried (a failed attempt), dead_lettered',
  });
  const lag = meter.createObservableGauge('ctc_webhook_lag_seconds', {
    description: 'Age of the oldest change-feed event not yet delivered to the webhook URL',
    unit: 's',
  });
  const observe: ObservableCallback = async (result) => {
    if (urls.length === 0) return;
    const rows = await db
      .selectFrom('webhook_cursors')
      .select(['url', 'cursor'])
      .where('url', 'in', [...urls])
      .execute()
      .catch(() => []);
    for (const row of rows) {
      const after = row.cursor === null ? feedStart : decodeCursor(row.cursor);
      if (after === undefined) continue;
      try {
        const next = await nextEventTime(db, after);
        const seconds = next === undefined ? 0 : Math.max(0, (Date.now() - next.getTime()) / 1000);
        result.observe(seconds, { url: urlLabel(row.url) });
      } catch {
        // Database unavailable: report nothing rather than a zero that would look healthy.
      }
    }
  };
  lag.addCallback(observe);
  return {
    delivery: (outcome, url) => deliveries.add(1, { outcome, url: urlLabel(url) }),
    close: () => lag.removeCallback(observe),
  };
}
