import type { ReceiverConfig } from '@ctc-hub/config';
import { parseEnvelope, verifySignature } from '@ctc-hub/ppns';
import {
  currentTraceCarrier,
  opsRoutes,
  SpanKind,
  withSpan,
  type Logger,
  type ReadinessCheck,
  type ServiceMetrics,
} from '@ctc-hub/telemetry';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { IngestEnqueuer } from './enqueuer.js';
import { receiverMetrics, type ReceiverOutcome } from './metrics.js';
import { sourcePolicy } from './source-allowlist.js';

export interface ReceiverAppOptions {
  config: ReceiverConfig;
  enqueuer: Pick<IngestEnqueuer, 'enqueue'>;
  logger: Logger;
  readiness: Record<string, ReadinessCheck>;
  informational?: Record<string, ReadinessCheck>;
  /** The receiver's own metrics (its instruments and /metrics). */
  telemetry: ServiceMetrics;
  now?: () => Date;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `application/json`, with or without parameters such as `charset=utf-8`. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json';
}

/**
 * The PPNS callback. Order of checks: media type (415) → size (413, while reading) → signature
 * over the raw bytes (401) → envelope (400, naming the field) → box allow-list (403) → durable
 * enqueue (200 only once Redis has the job; 503 with Retry-After otherwise). PPNS treats anything
 * but 200 as a failure and retries, so a 4xx is only ever for input that will never succeed and a
 * failure of ours is always a 5xx.
 */
export function createReceiverApp(options: ReceiverAppOptions): Express {
  const { config, enqueuer, logger } = options;
  const now = options.now ?? (() => new Date());
  const metrics = receiverMetrics(options.telemetry.meter);
  const boxAllowList = config.PPNS_BOX_IDS.length > 0 ? new Set(config.PPNS_BOX_IDS) : undefined;
  // Throws at start-up, naming the setting, when a range cannot be read.
  const sources =
    config.RECEIVER_ALLOWED_CIDRS.length > 0
      ? sourcePolicy({
          allowedCidrs: config.RECEIVER_ALLOWED_CIDRS,
          trustedProxyCidrs: config.RECEIVER_TRUSTED_PROXY_CIDRS,
        })
      : undefined;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/ppns/callback', (request, response) => {
    const challenge = request.query.challenge;
    if (typeof challenge !== 'string' || challenge.length === 0 || challenge.length > 512) {
      response
        .status(400)
        .json({ code: 'BAD_REQUEST', message: 'challenge query parameter is required' });
      return;
    }
    logger.info('answered PPNS callback validation challenge');
    response.status(200).json({ challenge });
  });

  const answer = (
    response: Response,
    startedAt: bigint,
    outcome: ReceiverOutcome,
    status: number,
    body: object,
  ) => {
    metrics.record(outcome, startedAt);
    response.status(status).json(body);
  };

  app.post(
    '/ppns/callback',
    (request: Request, response: Response, next: NextFunction) => {
      response.locals.startedAt = process.hrtime.bigint();
      if (sources !== undefined) {
        const forwarded = request.headers['x-forwarded-for'];
        const client = sources.clientAddress(
          request.socket.remoteAddress,
          Array.isArray(forwarded) ? forwarded.join(',') : forwarded,
        );
        if (!sources.allows(client)) {
          logger.warn({ source: client ?? null }, 'refused a push from a source not allowed');
          // The body is not read: close the connection rather than drain it.
          response.setHeader('Connection', 'close');
          answer(response, response.locals.startedAt, 'source_not_allowed', 403, {
            code: 'FORBIDDEN',
            message: 'this source address may not send notifications (RECEIVER_ALLOWED_CIDRS)',
          });
          return;
        }
      }
      if (!isJson(request.headers['content-type'])) {
        answer(response, response.locals.startedAt, 'unsupported_media_type', 415, {
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: 'Content-Type must be application/json',
        });
        return;
      }
      next();
    },
    express.raw({ type: () => true, limit: config.RECEIVER_MAX_BODY_BYTES, inflate: false }),
    (request: Request, response: Response) =>
      withSpan(
        'ppns.notification',
        { 'http.route': '/ppns/callback' },
        async (span) => {
          const startedAt = response.locals.startedAt as bigint;
          const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);

          if (
            config.PPNS_SIGNATURE_REQUIRED &&
            !verifySignature(
              config.PPNS_PUSH_SECRETS,
              raw,
              request.headers['x-hub-signature'] as string | undefined,
            )
          ) {
            logger.warn({ bytes: raw.length }, 'rejected notification: signature missing or wrong');
            return answer(response, startedAt, 'invalid_signature', 401, {
              code: 'INVALID_SIGNATURE',
              message:
                'X-Hub-Signature is missing or is not the HMAC-SHA1 of the body under a configured push secret',
            });
          }

          let text: string;
          try {
            text = utf8.decode(raw);
          } catch {
            return answer(response, startedAt, 'invalid_envelope', 400, {
              code: 'INVALID_JSON',
              message: 'the body is not valid UTF-8',
            });
          }
          const parsed = parseEnvelope(text);
          if (!parsed.ok) {
            logger.warn({ error: parsed.error }, 'rejected notification: invalid envelope');
            return answer(response, startedAt, 'invalid_envelope', 400, parsed.error);
          }
          const { envelope } = parsed;
          span.setAttribute('ppns.notification_id', envelope.notificationId);
          // No per-request child logger: building one cost more than the line it would write.
          const ids = { notificationId: envelope.notificationId, boxId: envelope.boxId };

          if (boxAllowList !== undefined && !boxAllowList.has(envelope.boxId)) {
            logger.warn(ids, 'rejected notification: box not in PPNS_BOX_IDS');
            return answer(response, startedAt, 'unknown_box', 403, {
              code: 'UNKNOWN_BOX',
              message: `box ${envelope.boxId} is not one of the boxes this receiver accepts`,
            });
          }

          const result = await enqueuer.enqueue({
            notificationId: envelope.notificationId,
            boxId: envelope.boxId,
            source: 'push',
            receivedAt: now().toISOString(),
            envelope: text,
            trace: currentTraceCarrier(),
          });
          if (!result.ok) {
            logger.error(
              { ...ids, reason: result.reason, detail: result.detail },
              'could not queue notification; answering 503 so PPNS retries',
            );
            response.setHeader('Retry-After', String(config.RECEIVER_RETRY_AFTER_SECONDS));
            return answer(response, startedAt, 'queue_unavailable', 503, {
              code: 'SERVICE_UNAVAILABLE',
              message: 'the notification could not be queued; retry later',
            });
          }
          // One line per accepted push would be thousands a second at peak; the worker logs each
          // notification it processes, and ctc_receiver_notifications counts them here.
          if (logger.isLevelEnabled('debug'))
            logger.debug({ ...ids, status: envelope.status }, 'notification accepted');
          return answer(response, startedAt, 'accepted', 200, {
            status: 'accepted',
            notificationId: envelope.notificationId,
          });
        },
        {
          kind: SpanKind.SERVER,
          // PPNS sends no trace context, but a gateway in front of us may.
          parent:
            typeof request.headers.traceparent === 'string'
              ? { traceparent: request.headers.traceparent }
              : undefined,
        },
      ).catch((error: unknown) => {
        logger.error({ err: error }, 'receiver failed');
        if (!response.headersSent) {
          response.setHeader('Retry-After', String(config.RECEIVER_RETRY_AFTER_SECONDS));
          answer(response, response.locals.startedAt as bigint, 'queue_unavailable', 503, {
            code: 'SERVICE_UNAVAILABLE',
            message: 'the notification could not be processed; retry later',
          });
        }
      }),
  );

  // After the callback, so a push does not first walk the ops router.
  app.use(opsRoutes(options.readiness, options.informational, options.telemetry));

  app.all('/ppns/callback', (_request, response) => {
    response.setHeader('Allow', 'GET, POST');
    response
      .status(405)
      .json({ code: 'METHOD_NOT_ALLOWED', message: 'use GET (challenge) or POST (notification)' });
  });
  app.use((request, response) => {
    response
      .status(404)
      .json({ code: 'NOT_FOUND', message: `No route for ${request.method} ${request.path}` });
  });

  // Body-reading errors: oversize → 413, client aborted or bad length → 400. Anything else is ours → 503.
  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    const type = (error as { type?: string }).type;
    const startedAt = (response.locals.startedAt as bigint | undefined) ?? process.hrtime.bigint();
    if (type === 'entity.too.large') {
      return answer(response, startedAt, 'too_large', 413, {
        code: 'PAYLOAD_TOO_LARGE',
        message: `the body is larger than ${config.RECEIVER_MAX_BODY_BYTES} bytes`,
      });
    }
    // A compressed body (Content-Encoding: gzip, …) is the sender's choice, not our failure:
    // PPNS sends plain JSON, so say so instead of a 503 that invites endless retries.
    if (type === 'encoding.unsupported') {
      return answer(response, startedAt, 'unsupported_media_type', 415, {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Content-Encoding is not supported; send the body uncompressed',
      });
    }
    if (
      type === 'request.aborted' ||
      type === 'request.size.invalid' ||
      type === 'stream.encoding.set'
    ) {
      return answer(response, startedAt, 'bad_request', 400, {
        code: 'BAD_REQUEST',
        message: (error as Error).message,
      });
    }
    logger.error({ err: error }, 'receiver failed');
    response.setHeader('Retry-After', String(config.RECEIVER_RETRY_AFTER_SECONDS));
    return answer(response, startedAt, 'queue_unavailable', 503, {
      code: 'SERVICE_UNAVAILABLE',
      message: 'retry later',
    });
  });
  return app;
}
