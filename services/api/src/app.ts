import { randomUUID } from 'node:crypto';
import { classifyStoreError } from '@ctc-hub/db';
import { opsRoutes, type ReadinessCheck } from '@ctc-hub/telemetry';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { adminRoutes } from './admin/routes.js';
import { auditRoutes } from './audit/routes.js';
import { connectionRoutes } from './connections/routes.js';
import { deadLetterRoutes } from './dead-letters/routes.js';
import type { ApiDeps } from './deps.js';
import { eventRoutes } from './events/routes.js';
import { guaranteeRoutes } from './guarantees/routes.js';
import { hmrcWriteRoutes } from './hmrc-compat/routes.js';
import { uploadRoutes } from './hmrc-compat/upload.js';
import { parseApiKeys, requireApiKey } from './http/auth.js';
import { concurrencyPerKey } from './http/concurrency-limit.js';
import { ApiError, errorHandler, sendError } from './http/errors.js';
import { inputGuard } from './http/input-guard.js';
import { rateLimitPerKey } from './http/rate-limit.js';
import { requestMetrics } from './http/request-metrics.js';
import { securityHeaders } from './http/security-headers.js';
import { movementRoutes } from './movements/routes.js';
import { notificationRoutes } from './notifications/routes.js';
import { oauthRoutes } from './oauth/routes.js';
import { openApiRoutes } from './openapi/routes.js';
import { ppnsAuth, relayRoutes } from './relay/routes.js';
import { submissionRoutes } from './submissions/routes.js';
import { traderRoutes } from './traders/routes.js';

/**
 * After a read route on the replica failed, lets the request go on to the same routes mounted on
 * the primary when the failure may be the replica's: a 404 (the row not replayed yet), or the
 * replica itself failing (connection refused or lost, a query cancelled for a conflict with
 * recovery, a statement timeout: `classifyStoreError` says `database`). Only for GET and HEAD
 * (nothing was written) and only while nothing has been sent.
 */
function askPrimaryAfterReplica(
  error: unknown,
  request: Request,
  response: Response,
  next: NextFunction,
): void {
  const replicaMayBeWrong =
    error instanceof ApiError ? error.status === 404 : classifyStoreError(error) === 'database';
  const retry =
    replicaMayBeWrong &&
    (request.method === 'GET' || request.method === 'HEAD') &&
    !response.headersSent;
  next(retry ? undefined : error);
}

/**
 * `informational` checks are shown in /readyz without making the api unready (the read
 * replica: reads fall back to the primary while it is away).
 */
export function createApiApp(
  deps: ApiDeps,
  checks: Record<string, ReadinessCheck>,
  informational: Record<string, ReadinessCheck> = {},
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('etag', false);

  // Request id on every response: ours, or the caller's when it sent a sane one.
  app.use((request, response, next) => {
    const given = request.headers['x-request-id'];
    const requestId =
      typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    response.setHeader('x-request-id', requestId);
    next();
  });
  app.use(requestMetrics(deps.telemetry?.meter));
  app.use(securityHeaders);
  // NUL bytes, unpaired surrogates and non-UTF-8 escapes in any query parameter or path segment:
  // 400 naming it, before a route hands it to PostgreSQL (which would answer with a 500).
  app.use(inputGuard(app));

  app.use(opsRoutes(checks, informational, deps.telemetry));
  // What the API is and where things are: no key needed, nothing of any trader's.
  app.use(openApiRoutes());

  const keys = parseApiKeys(deps.config.API_KEYS);
  const rateLimit =
    deps.config.API_RATE_LIMIT_PER_SECOND > 0
      ? rateLimitPerKey({
          redis: deps.redis,
          prefix: deps.config.QUEUE_PREFIX,
          perSecond: deps.config.API_RATE_LIMIT_PER_SECOND,
          burst: deps.config.API_RATE_LIMIT_BURST,
          logger: deps.logger,
        })
      : undefined;
  const maxConcurrent = deps.config.API_MAX_CONCURRENT_REQUESTS_PER_KEY;
  const concurrency =
    maxConcurrent > 0
      ? concurrencyPerKey({
          max: maxConcurrent,
          // Streams have their own per-key share (EVENT_STREAM_MAX_CLIENTS_PER_KEY).
          exempt: (request) => request.baseUrl + request.path === '/v1/events/stream',
        })
      : undefined;
  const authenticated = [requireApiKey(keys), rateLimit, concurrency].filter(
    (handler) => handler !== undefined,
  );
  app.use('/customs', authenticated);
  app.use('/v1', authenticated);
  // The relay's PPNS pull API answers a missing or unknown key as HMRC's API platform does.
  app.use(
    '/misc',
    [ppnsAuth(keys), rateLimit, concurrency].filter((handler) => handler !== undefined),
  );

  // The connect flow authenticates itself: the callback by its single-use state, the start by
  // the API key as Bearer or as a browser's Basic password.
  app.use(oauthRoutes(deps, { keys, rateLimit }));
  // Movement and message reads go to the replica when there is one (DATABASE_READ_URL). A 404
  // there may only mean the replica has not replayed the row yet, and a replica that fails
  // should not fail the read: the same routes then answer from the primary, so a movement a
  // client was just told about is never "not found".
  const reads: ApiDeps = deps.readDb === undefined ? deps : { ...deps, db: deps.readDb };
  app.use(movementRoutes(reads));
  if (reads !== deps) {
    app.use(askPrimaryAfterReplica);
    app.use(movementRoutes(deps));
  }
  // HMRC's own write paths (POST /customs/transits/movements/…), answering as HMRC does.
  app.use(hmrcWriteRoutes(deps));
  // Their large-message upload form: authenticated by its own signed field, as HMRC's Upscan is.
  app.use(uploadRoutes(deps));
  app.use(notificationRoutes(deps));
  app.use(submissionRoutes(deps));
  app.use(guaranteeRoutes(deps));
  // The change feed reads from the replica too: its horizon is the standby's snapshot xmin, so
  // it never skips an event that commits later (packages/db/src/feed/read.ts).
  app.use(eventRoutes(reads));
  app.use(deadLetterRoutes(deps));
  app.use(auditRoutes(deps));
  app.use(connectionRoutes(deps));
  app.use(traderRoutes(deps));
  app.use(relayRoutes(deps));
  // Operator pages (authenticate themselves: browsers cannot send a Bearer header).
  app.use(adminRoutes(deps));

  app.use((request, response) => {
    sendError(
      response,
      new ApiError(404, 'NOT_FOUND', `No route for ${request.method} ${request.path}`),
    );
  });
  app.use(errorHandler(deps.logger));
  return app;
}
