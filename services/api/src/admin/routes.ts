import { Router, type Response } from 'express';
import type { ApiDeps } from '../deps.js';
import { parseApiKeys } from '../http/auth.js';
import { route } from '../http/errors.js';
import { requireAdmin } from './auth.js';
import { bullBoardRouter, queuesPath } from './bull-board.js';
import { opsCss, opsFavicon, opsJs } from './ops-assets.js';
import { cachedOpsData } from './ops-data.js';
import { renderOpsPage } from './ops-page.js';

const assetsPath = '/ops/assets';

/**
 * Our own pages are plain HTML with two same-origin assets; nothing else may load or run, and
 * the ops data (every trader's) is never cached on the way.
 */
function securePage(response: Response): void {
  response.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('Cache-Control', 'no-store');
}

/** bull-board at /admin/queues and the ops overview page at /ops (authenticated). */
export function adminRoutes(deps: ApiDeps): Router {
  const router = Router();
  const admin = requireAdmin(parseApiKeys(deps.config.API_KEYS));
  router.use('/admin', admin);
  router.use('/ops', admin);

  router.use(
    queuesPath,
    bullBoardRouter(
      [deps.ingestQueue, deps.hmrcQueue, deps.opsQueue],
      deps.config.ADMIN_QUEUE_WRITE,
    ),
  );

  const opsData = cachedOpsData(deps);
  router.get(
    '/ops',
    route(async (_request, response) => {
      const data = await opsData();
      securePage(response);
      response.type('html').send(renderOpsPage(data, assetsPath));
    }),
  );
  router.get(
    '/ops/data',
    route(async (_request, response) => {
      const data = await opsData();
      response.setHeader('Cache-Control', 'no-store');
      response.json(data);
    }),
  );
  router.get(`${assetsPath}/ops.css`, (_request, response) => {
    securePage(response);
    response.type('css').send(opsCss);
  });
  router.get(`${assetsPath}/ops.js`, (_request, response) => {
    securePage(response);
    response.type('js').send(opsJs);
  });
  router.get(`${assetsPath}/favicon.svg`, (_request, response) => {
    securePage(response);
    response.type('svg').send(opsFavicon);
  });
  return router;
}
