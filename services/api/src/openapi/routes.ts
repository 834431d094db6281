import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';
import { openApiDocument } from './document.js';

/**
 * GET /             an index of where things are (JSON; a small HTML page for browsers)
 * GET /openapi.json the OpenAPI 3.1 document (document.ts)
 * GET /docs         the reference page: Redoc's standalone bundle, served by us (from
 *                   node_modules, or shipped beside the production bundle), rendering
 *                   /openapi.json; nothing is loaded from elsewhere
 * None needs an API key: they describe the API, they hold no trader's data.
 */

const redocPath = '/docs/assets/redoc.standalone.js';

/**
 * Redoc's sidebar shows its maker's logo from their CDN; offline (and under our CSP) that is a
 * blocked request and a console error, so the bundle is served with a blank image instead.
 */
const redocLogo = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const blankImage = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/**
 * The production build ships the bundle beside the api (dist/api/assets, scripts/build.mjs), so
 * the image installs none of redoc's dependencies; from source it comes from node_modules.
 */
function redocFile(): string {
  const shipped = fileURLToPath(new URL('../assets/redoc.standalone.js', import.meta.url));
  return existsSync(shipped)
    ? shipped
    : createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
}

/** Read on first use: a process that never serves /docs never reads the 1 MB bundle. */
let redocBundle: string | undefined;
function redoc(): string {
  redocBundle ??= readFileSync(redocFile(), 'utf8').replaceAll(redocLogo, blankImage);
  return redocBundle;
}

/**
 * Redoc styles its elements with inline <style> tags (styled-components) and runs its search
 * index in a worker made from a blob: URL; everything else stays as strict as /ops.
 */
function docsPage(response: Response): void {
  response.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
      "font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; " +
      "form-action 'none'; frame-ancestors 'none'",
  );
}

const links = {
  docs: { href: '/docs', title: 'API reference' },
  openapi: { href: '/openapi.json', title: 'OpenAPI 3.1 document' },
  health: { href: '/healthz', title: 'Liveness' },
  ready: { href: '/readyz', title: 'Readiness of every dependency' },
  metrics: { href: '/metrics', title: 'Prometheus metrics' },
  ops: { href: '/ops', title: 'Operations overview (operator key)' },
  queues: { href: '/admin/queues', title: 'Queues (operator key)' },
};

const indexHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ctc-hub</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>ctc-hub</h1><ul>
${Object.values(links)
  .map((link) => `<li><a href="${link.href}">${link.title}</a> <code>${link.href}</code></li>`)
  .join('\n')}
</ul></body></html>
`;

const docsHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ctc-hub API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json" hide-download-button="false"></redoc>
<script src="${redocPath}"></script></body></html>
`;

export function openApiRoutes(): Router {
  const router = Router();
  router.get('/', (request, response) => {
    if (request.accepts(['json', 'html']) === 'html') {
      docsPage(response);
      response.type('html').send(indexHtml);
      return;
    }
    response.json({ name: 'ctc-hub', links });
  });
  router.get('/openapi.json', (_request, response) => {
    response.setHeader('Cache-Control', 'no-cache');
    response.json(openApiDocument());
  });
  router.get('/docs', (_request, response) => {
    docsPage(response);
    response.type('html').send(docsHtml);
  });
  router.get(redocPath, (_request, response) => {
    docsPage(response);
    response.setHeader('Cache-Control', 'public, max-age=3600');
    response.type('js').send(redoc());
  });
  return router;
}
