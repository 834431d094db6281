import { latencyBucketsSeconds, noopMeter, type Meter } from '@ctc-hub/telemetry';
import type { RequestHandler } from 'express';

/**
 * ctc_api_request_duration_seconds{method, route, status}: every api request, by the route
 * template that served it (`/v1/traders/:eori`, never the EORI itself) and the class of its status
 * (2xx, 4xx, 5xx). Its _count gives the request rate and the error rate; its buckets the
 * latency. Requests no route matched (404s, bull-board's static files) share `route="unmatched"`,
 * so a scanner cannot grow the label set.
 */
export function requestMetrics(meter: Meter = noopMeter): RequestHandler {
  const duration = meter.createHistogram('ctc_api_request_duration_seconds', {
    description: 'API requests by method, route template and status class, with their duration',
    unit: 's',
    advice: { explicitBucketBoundaries: latencyBucketsSeconds },
  });
  return (request, response, next) => {
    const started = performance.now();
    response.once('finish', () => {
      const template = (request.route as { path?: unknown } | undefined)?.path;
      // An error thrown in a handler reaches the error handler after Express restored the
      // router's base URL (undefined at the top): the template is then the route's own.
      const route =
        typeof template === 'string' ? `${request.baseUrl ?? ''}${template}` || '/' : 'unmatched';
      duration.record((performance.now() - started) / 1000, {
        method: methods.has(request.method) ? request.method : 'OTHER',
        route,
        status: `${Math.floor(response.statusCode / 100)}xx`,
      });
    });
    next();
  };
}

const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
