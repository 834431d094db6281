import { noopMeter, opsRoutes, type ServiceMetrics } from '@ctc-hub/telemetry';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { faultMiddleware } from '../faults/faults.js';
import { guaranteeRoutes } from '../guarantee/balance.js';
import { testSupportRoutes } from '../lifecycle/test-support.js';
import { movementReadRoutes } from '../movements/routes.js';
import { authenticators } from '../oauth/auth.js';
import { oauthRoutes } from '../oauth/routes.js';
import { ppnsPullRoutes } from '../ppns/pull.js';
import { submissionRoutes } from '../submissions/routes.js';
import { v1Routes } from '../v1/routes.js';
import { adminRoutes } from './admin.js';
import type { SandboxContext, SandboxControls } from './controls.js';
import { errorHandler, HmrcError, sendError } from './errors.js';

const opsPaths = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Middleware order matters: stats see every call; ops, admin, test-support and OAuth are
 * outside fault injection (uploads go to a listener of their own, submissions/upload.ts); HMRC API routes come after the fault middleware, and each
 * authenticates (401) and rate-limits (429) before its own checks, as the API Platform does.
 */
export function createSandboxApp(
  context: SandboxContext,
  controls: SandboxControls,
  telemetry?: ServiceMetrics,
): Express {
  const { store, stats, settings, logger } = context;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('etag', false);

  const requests = (telemetry?.meter ?? noopMeter).createCounter('hmrc_sandbox_requests_total', {
    description:
      'Requests answered by the HMRC sandbox, by route and status (0 = connection reset)',
  });
  app.use((request: Request, response: Response, next: NextFunction) => {
    if (opsPaths.has(request.path)) return next();
    response.locals.arrivedAt = performance.timeOrigin + performance.now();
    response.on('close', () => {
      const pattern = (request.route as { path?: string } | undefined)?.path;
      const endpoint = `${request.method} ${pattern ?? '(no route)'}`;
      const status = response.writableFinished ? response.statusCode : 0;
      stats.recordApiCall(endpoint, status);
      requests.add(1, { endpoint, status });
    });
    next();
  });

  app.use(opsRoutes({}, {}, telemetry));
  app.use(adminRoutes(context, controls));
  app.use(testSupportRoutes(store, context.inbound, context.tokens, settings));
  app.use(oauthRoutes(context.tokens, settings));

  app.use(faultMiddleware(context.faults, stats, context.hanging));
  const auth = authenticators(context.tokens, context.limiter, stats);
  // Accept 1.0 (the retired phase-4 API) is answered there; everything else falls through.
  app.use(v1Routes(context, auth));
  app.use(movementReadRoutes(store, auth));
  app.use(submissionRoutes(store, context.submissions, auth, stats, context.hanging));
  app.use(ppnsPullRoutes(context.push, settings, auth));
  app.use(guaranteeRoutes(context.guarantees, auth, stats));

  app.use((_request: Request, response: Response) => {
    sendError(
      response,
      new HmrcError(
        404,
        'MATCHING_RESOURCE_NOT_FOUND',
        'A resource with the name in the request can not be found in the API',
      ),
    );
  });
  app.use(errorHandler(logger));
  return app;
}
