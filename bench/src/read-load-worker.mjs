// HTTP side of bench/src/scale.ts, in a worker thread so the client's CPU is not on the api's
// event loop: a closed loop of `concurrency` requests for `durationMs`, each GET to the next URL
// of `urls` (round robin), reading the whole body. Posts back latencies (ms) and statuses.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { Agent, request } from 'undici';

const { baseUrl, urls, concurrency, durationMs, headers } = workerData;
const agent = new Agent({ connections: concurrency, pipelining: 1 });
const latencies = [];
const statuses = {};
let next = 0;
const deadline = performance.now() + durationMs;

async function loop() {
  while (performance.now() < deadline) {
    const path = urls[next++ % urls.length];
    const started = performance.now();
    try {
      const response = await request(`${baseUrl}${path}`, { headers, dispatcher: agent });
      for await (const chunk of response.body) void chunk;
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    } catch (error) {
      statuses[String(error.code ?? 'error')] = (statuses[String(error.code ?? 'error')] ?? 0) + 1;
    }
    latencies.push(performance.now() - started);
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, loop));
const elapsedMs = performance.now() - started;
await agent.close();
parentPort.postMessage({ latencies, statuses, elapsedMs });
