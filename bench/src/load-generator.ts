/**
 * A load generator meant to run in its own process (so it does not share an event loop or a core
 * with what it measures). Sends POSTs from a prepared list of bodies with a fixed concurrency,
 * optionally paced to a target rate, and prints one JSON line of results on stdout.
 *
 *   tsx bench/src/load-generator.ts <requests.jsonl> <url> <concurrency> [ratePerSecond] [durationSeconds]
 *
 * Each line of requests.jsonl: {"body": "...", "headers": {...}}. With a duration, the list is
 * cycled until the time is up; otherwise every line is sent once.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

const [file, url, concurrencyText, rateText, durationText] = process.argv.slice(2);
if (file === undefined || url === undefined) {
  process.stderr.write(
    'usage: load-generator <requests.jsonl> <url> <concurrency> [rate] [duration]\n',
  );
  process.exit(2);
}
const requests = readFileSync(file, 'utf8')
  .split('\n')
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line) as { body: string; headers: Record<string, string> });
const concurrency = Number(concurrencyText ?? '32');
const rate = rateText !== undefined && rateText !== '0' ? Number(rateText) : undefined;
const durationMs = durationText !== undefined ? Number(durationText) * 1000 : undefined;

const target = new URL(url);
const pool = new Pool(target.origin, { connections: concurrency, pipelining: 1 });
const latencies: number[] = [];
const statuses: Record<string, number> = {};
let next = 0;
const started = performance.now();
const intervalMs = rate === undefined ? 0 : 1000 / rate;

/** The sequence number of the next request to send, or undefined when done. */
function nextSequence(): number | undefined {
  if (durationMs !== undefined)
    return performance.now() - started >= durationMs ? undefined : next++;
  return next < requests.length ? next++ : undefined;
}

async function lane(): Promise<void> {
  for (;;) {
    const sequence = nextSequence();
    if (sequence === undefined) return;
    if (rate !== undefined) {
      // Open-loop pacing: request n is due at n / rate, whatever happened to earlier ones.
      const wait = started + sequence * intervalMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const request = requests[sequence % requests.length]!;
    const sentAt = performance.now();
    try {
      const response = await pool.request({
        path: target.pathname,
        method: 'POST',
        headers: request.headers,
        body: request.body,
      });
      await response.body.dump();
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    } catch (error) {
      statuses[(error as Error).name] = (statuses[(error as Error).name] ?? 0) + 1;
    }
    latencies.push(performance.now() - sentAt);
  }
}

await Promise.all(Array.from({ length: concurrency }, () => lane()));
const elapsedMs = performance.now() - started;
await pool.close();
latencies.sort((a, b) => a - b);
const at = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({
    sent: latencies.length,
    elapsedMs,
    perSecond: (latencies.length / elapsedMs) * 1000,
    statuses,
    latencyMs: { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: latencies.at(-1) ?? 0 },
  })}\n`,
);
