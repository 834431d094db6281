// Risk retired: API request metrics labelled by the raw path (one series per EORI or id, until
// Prometheus falls over), or missing the errors and latency operators alert on.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initMetrics } from '@ctc-hub/telemetry';
import express, { Router } from 'express';
import { requestMetrics } from './request-metrics.js';

let server: Server;
let base: string;
const metrics = initMetrics('request-metrics-test');

beforeAll(async () => {
  const app = express();
  app.use(requestMetrics(metrics.meter));
  const router = Router();
  router.get('/v1/traders/:eori', (_request, response) => {
    response.json({});
  });
  router.get('/v1/broken', () => {
    throw new Error('boom');
  });
  app.use(router);
  const nested = Router();
  nested.get('/api/queues', (_request, response) => {
    response.json({});
  });
  app.use('/admin/queues', nested);
  app.get('/metrics', (request, response) => metrics.serve(request, response));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const count = (text: string, labels: string) =>
  Number(
    text
      .split('\n')
      .find((line) => line.startsWith(`ctc_api_request_duration_seconds_count{${labels}}`))
      ?.split(' ')
      .at(-1) ?? 0,
  );

it('labels requests by route template, method and status class, never by the raw path', async () => {
  for (const eori of ['GB000000000001', 'GB000000000002', 'GB000000000003'])
    await fetch(`${base}/v1/traders/${eori}`);
  await fetch(`${base}/v1/broken`);
  await fetch(`${base}/admin/queues/api/queues`);
  await fetch(`${base}/no/such/${Date.now()}`);
  const text = await (await fetch(`${base}/metrics`)).text();
  expect(count(text, 'method="GET",route="/v1/traders/:eori",status="2xx"')).toBe(3);
  expect(count(text, 'method="GET",route="/v1/broken",status="5xx"')).toBe(1);
  expect(count(text, 'method="GET",route="/admin/queues/api/queues",status="2xx"')).toBe(1);
  expect(count(text, 'method="GET",route="unmatched",status="4xx"')).toBe(1);
  expect(text).not.toMatch(/GB00000000000\d/);
  expect(text).toMatch(/ctc_api_request_duration_seconds_bucket\{[^}]*le="0.1"/);
});
