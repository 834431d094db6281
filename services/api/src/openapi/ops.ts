import { z } from 'zod';
import { errors, ok, operatorKey, type Registry } from './common.js';

/** Health, readiness, metrics, the operator pages, and this document's own routes. */
export function describeOps(registry: Registry, queuesPath: string): void {
  const tags = ['Operations'];
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    tags,
    summary: 'Liveness: the process serves HTTP',
    responses: { 200: ok('Alive', z.object({ status: z.literal('ok') })) },
  });
  const readiness = z
    .object({
      status: z.enum(['ready', 'not ready']),
      checks: z
        .record(z.string(), z.string())
        .meta({ description: '`ok`, `ok: <detail>` or `failing: <why>` per dependency' }),
    })
    .meta({ id: 'Readiness' });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    tags,
    summary: 'Readiness: every dependency answers (PostgreSQL, Redis and its durability)',
    responses: {
      200: ok('Ready', readiness),
      503: ok('Not ready; the failing checks say why', readiness),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    tags,
    summary: "Prometheus metrics of the api's own instruments",
    responses: {
      200: {
        description: 'Prometheus text format',
        content: { 'text/plain': { schema: z.string() } },
      },
    },
  });
  const html = (description: string) => ({
    description,
    content: { 'text/html': { schema: z.string() } },
  });
  registry.registerPath({
    method: 'get',
    path: '/ops',
    tags,
    summary: 'The operations overview page (operator key)',
    security: operatorKey,
    responses: { 200: html('The page'), ...errors(401, 403) },
  });
  registry.registerPath({
    method: 'get',
    path: '/ops/data',
    tags,
    summary: 'The data behind /ops, refreshed by the page',
    security: operatorKey,
    responses: {
      200: ok(
        'Queues, throughput, dead letters, reconciliation, HMRC budget, connections',
        z
          .object({
            generatedAt: z.string(),
            queues: z.array(
              z
                .object({
                  name: z.string(),
                  counts: z.record(z.string(), z.number()),
                  oldestWaitingAgeSeconds: z.number(),
                })
                .loose(),
            ),
            deadLetters: z.object({ open: z.number() }).loose(),
            hmrcBudget: z
              .object({
                limitPerSecond: z.number(),
                budgetPerMinute: z.number(),
                pacedPerMinute: z.number(),
                peakUse: z.number().meta({ description: 'Busiest minute of the hour, 0..1+' }),
                minutes: z.array(z.object({ minute: z.string(), count: z.number() })),
              })
              .loose(),
            connections: z
              .object({ attention: z.array(z.object({ eori: z.string() }).loose()) })
              .loose(),
          })
          .loose()
          .meta({ id: 'OpsData' }),
      ),
      ...errors(401, 403),
    },
  });
  for (const [file, type] of [
    ['ops.css', 'text/css'],
    ['ops.js', 'text/javascript'],
    ['favicon.svg', 'image/svg+xml'],
  ] as const)
    registry.registerPath({
      method: 'get',
      path: `/ops/assets/${file}`,
      tags,
      summary: `Asset of the /ops page: ${file}`,
      security: operatorKey,
      responses: {
        200: { description: file, content: { [type]: { schema: z.string() } } },
        ...errors(401, 403),
      },
    });
  registry.registerPath({
    method: 'get',
    path: queuesPath,
    tags,
    summary: 'bull-board: the queues, their jobs and (with ADMIN_QUEUE_WRITE) retry and clean',
    description: 'Its own pages and JSON API live under this path.',
    security: operatorKey,
    responses: { 200: html('The board'), ...errors(401, 403) },
  });

  const docs = ['Documentation'];
  registry.registerPath({
    method: 'get',
    path: '/',
    tags: docs,
    summary: 'Where things are: documentation, this document, health, operations',
    responses: {
      200: {
        description: 'JSON index (HTML for browsers that ask for text/html)',
        content: {
          'application/json': {
            schema: z
              .object({
                name: z.string(),
                links: z.record(z.string(), z.object({ href: z.string() })),
              })
              .loose()
              .meta({ id: 'Index' }),
          },
          'text/html': { schema: z.string() },
        },
      },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    tags: docs,
    summary: 'This OpenAPI 3.1 document',
    responses: { 200: ok('The document', z.object({ openapi: z.string() }).loose()) },
  });
  registry.registerPath({
    method: 'get',
    path: '/docs',
    tags: docs,
    summary: 'The API reference, rendered from /openapi.json (works offline)',
    responses: { 200: html('The reference page') },
  });
  registry.registerPath({
    method: 'get',
    path: '/docs/assets/redoc.standalone.js',
    tags: docs,
    summary:
      'The reference page renderer (Redoc), served by the api itself (nothing loaded from elsewhere)',
    responses: {
      200: { description: 'JavaScript', content: { 'text/javascript': { schema: z.string() } } },
    },
  });
}
