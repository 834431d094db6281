import { getMeter, latencyBucketsSeconds, sizeBucketsBytes } from '@ctc-hub/telemetry';
import type { Counter, Gauge, Histogram, Meter } from '@opentelemetry/api';

/**
 * Instruments are made when a client is constructed, so construct clients after initTelemetry()
 * (instruments made earlier are no-ops). Tests pass their own Meter to read the values back.
 * Attributes are bounded: endpoint templates (never ids), HTTP status or error kind.
 */
export interface HmrcCallMetrics {
  /** hmrc_requests_total{endpoint, method, status}: status is the HTTP code or the error kind. */
  requests: Counter;
  /** hmrc_request_duration_seconds{endpoint, method}. */
  duration: Histogram;
  /** hmrc_response_bytes{endpoint}: bytes read from successful responses (message fetches). */
  responseBytes: Histogram;
  /** hmrc_rate_budget_wait_seconds{endpoint}: time a call waited for its slot of the shared budget. */
  budgetWait: Histogram;
}

export function createCallMetrics(meter: Meter = getMeter()): HmrcCallMetrics {
  return {
    requests: meter.createCounter('hmrc_requests', {
      description: 'Calls to HMRC by endpoint template and HTTP status or error kind',
    }),
    duration: meter.createHistogram('hmrc_request_duration_seconds', {
      description: 'Latency of calls to HMRC, including reading the body',
      advice: { explicitBucketBoundaries: latencyBucketsSeconds },
    }),
    responseBytes: meter.createHistogram('hmrc_response_bytes', {
      description: 'Size of response bodies read from HMRC',
      advice: { explicitBucketBoundaries: sizeBucketsBytes },
    }),
    budgetWait: meter.createHistogram('hmrc_rate_budget_wait_seconds', {
      description: 'Time a call to HMRC waited for its slot of the shared rate budget',
      unit: 's',
      advice: { explicitBucketBoundaries: latencyBucketsSeconds },
    }),
  };
}

export interface TokenMetrics {
  /** hmrc_token_refreshes_total{kind}: successful refreshes (user) and client-credentials grants (application). */
  refreshes: Counter;
  /** hmrc_token_refresh_failures_total{kind, reason}: reason invalid_grant, transient, other. */
  refreshFailures: Counter;
  /** hmrc_tokens_near_reconsent{days}: user tokens within `days` of the 18-month limit. */
  nearReconsent: Gauge;
}

export function createTokenMetrics(meter: Meter = getMeter()): TokenMetrics {
  return {
    refreshes: meter.createCounter('hmrc_token_refreshes', {
      description: 'OAuth tokens obtained by refresh or client credentials',
    }),
    refreshFailures: meter.createCounter('hmrc_token_refresh_failures', {
      description: 'OAuth token refreshes that failed, by reason',
    }),
    nearReconsent: meter.createGauge('hmrc_tokens_near_reconsent', {
      description: 'Traders whose HMRC authority ends (18 months after consent) within the window',
    }),
  };
}
