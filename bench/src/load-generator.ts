/**
 * The load generator, meant to run in its own process so it does not share an event loop with
 * what it measures. Sends POSTs with a fixed concurrency, optionally paced to a target rate
 * (open loop: request n is due at n / rate whatever happened to earlier ones), for a duration or
 * a count, and reports throughput, statuses, latency percentiles and its own CPU time.
 *
 * Requests come either from a JSONL file ({"body": "...", "headers": {...}} per line, cycled) or
 * from a signed-notification template (see lib.ts `notificationTemplate`): every request gets
 * its own sequence number, so notification, movement and message ids never repeat and the
 * caller can tell exactly which notifications were accepted.
 *
 * Two ways to drive it:
 *   - forked with an IPC channel (lib.ts `startLoadGenerator`): one process serves many runs,
 *     so interleaved rounds do not pay a process start each;
 *   - from the command line, for one run:
 *       tsx bench/src/load-generator.ts <requests.jsonl> <url> <concurrency> [rate] [durationSeconds]
 */
import { readFileSync } from 'node:fs';
import { signPayload } from '@ctc-hub/ppns';
import { Pool } from 'undici';
import { fillTemplate, type LoadRequest, type LoadResult, type RequestSource } from './lib.js';

type Prepared = (sequence: number) => { body: string; headers: Record<string, string> };

const fileCache = new Map<string, { body: string; headers: Record<string, string> }[]>();

function prepare(source: RequestSource): Prepared {
  if ('file' in source) {
    let requests = fileCache.get(source.file);
    if (requests === undefined) {
      requests = readFileSync(source.file, 'utf8')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as { body: string; headers: Record<string, string> });
      fileCache.set(source.file, requests);
    }
    const list = requests;
    return (sequence) => list[sequence % list.length]!;
  }
  const { template } = source;
  return (sequence) => {
    const body = fillTemplate(template, sequence);
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-hub-signature': signPayload(template.secret, body),
      },
    };
  };
}

const at = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

export async function runOnce(request: LoadRequest): Promise<LoadResult> {
  const build = prepare(request.source);
  const startSequence = 'template' in request.source ? request.source.startSequence : 0;
  const { concurrency, rate, durationSeconds, count } = request;
  const durationMs = durationSeconds !== undefined ? durationSeconds * 1000 : undefined;
  const total = count ?? (durationMs === undefined ? Number.POSITIVE_INFINITY : undefined);
  const target = new URL(request.url);
  const pool = new Pool(target.origin, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  const lateness: number[] = [];
  const statuses: Record<string, number> = {};
  const failedSequences: number[] = [];
  const sentAt: number[] = [];
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const intervalMs = rate === undefined || rate <= 0 ? 0 : 1000 / rate;

  const nextIndex = (): number | undefined => {
    if (durationMs !== undefined && performance.now() - started >= durationMs) return undefined;
    // Paced: a lane takes its next index at once and waits for its due time, so at a low rate
    // the lanes would otherwise hold indexes due long after the duration (256 lanes at 20/s:
    // 12.8 s past it).
    if (durationMs !== undefined && intervalMs > 0 && next * intervalMs >= durationMs)
      return undefined;
    if (total !== undefined && next >= total) return undefined;
    return next++;
  };

  const lane = async (): Promise<void> => {
    for (;;) {
      const index = nextIndex();
      if (index === undefined) return;
      const due = started + index * intervalMs;
      if (intervalMs > 0) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const sequence = startSequence + index;
      const { body, headers } = build(sequence);
      const sendAt = performance.now();
      if (intervalMs > 0) lateness.push(sendAt - due);
      if (request.recordSendTimes === true) sentAt[index] = performance.timeOrigin + sendAt;
      let status: string;
      try {
        const response = await pool.request({
          path: target.pathname,
          method: 'POST',
          headers,
          body,
        });
        await response.body.dump();
        status = String(response.statusCode);
      } catch (error) {
        status = (error as Error).name;
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== '200') failedSequences.push(sequence);
      latencies.push(performance.now() - sendAt);
    }
  };

  await Promise.all(Array.from({ length: concurrency }, () => lane()));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  await pool.close();
  latencies.sort((a, b) => a - b);
  lateness.sort((a, b) => a - b);
  return {
    sent: latencies.length,
    startSequence,
    elapsedMs,
    perSecond: (latencies.length / elapsedMs) * 1000,
    statuses,
    failedSequences: failedSequences.slice(0, 1000),
    latencyMs: {
      p50: at(latencies, 0.5),
      p95: at(latencies, 0.95),
      p99: at(latencies, 0.99),
      max: latencies.at(-1) ?? 0,
    },
    ...(intervalMs > 0
      ? { lateMs: { p50: at(lateness, 0.5), p99: at(lateness, 0.99), max: lateness.at(-1) ?? 0 } }
      : {}),
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...(request.recordSendTimes === true ? { sentAt } : {}),
  };
}

if (process.send !== undefined) {
  // Forked by startLoadGenerator: one request per message, answered in order.
  const send = process.send.bind(process);
  process.on('message', (message: { id: number; request: LoadRequest }) => {
    runOnce(message.request).then(
      (result) => send({ id: message.id, result }),
      (error: unknown) => send({ id: message.id, error: (error as Error).stack ?? String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
} else if (process.argv[1]?.endsWith('load-generator.ts')) {
  const [file, url, concurrencyText, rateText, durationText] = process.argv.slice(2);
  if (file === undefined || url === undefined) {
    process.stderr.write(
      'usage: load-generator <requests.jsonl> <url> <concurrency> [rate] [duration]\n',
    );
    process.exit(2);
  }
  const result = await runOnce({
    source: { file },
    url,
    concurrency: Number(concurrencyText ?? '32'),
    ...(rateText !== undefined && rateText !== '0' ? { rate: Number(rateText) } : {}),
    ...(durationText !== undefined
      ? { durationSeconds: Number(durationText) }
      : { count: readFileSync(file, 'utf8').split('\n').filter(Boolean).length }),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
