import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { formatPpnsDateTime, signPayload } from '@ctc-hub/ppns';

export const benchPushSecret = 'BENCHPUSHSECRET00000000000000000';
export const benchBoxId = '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e';

/** Signed PPNS envelopes, each with an inline IE028 of 2 KB, written as a load-generator file. */
export function writeNotificationRequests(
  count: number,
  secret = benchPushSecret,
): { file: string; notificationIds: string[] } {
  const lines: string[] = [];
  const notificationIds: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const departureId = randomUUID().replace(/-/g, '').slice(0, 16);
    const messageId = randomUUID().replace(/-/g, '').slice(0, 16);
    const xml = paddedIe028(2048, `BENCH${index}`.padEnd(12, '0'));
    const notificationId = randomUUID();
    notificationIds.push(notificationId);
    const body = JSON.stringify({
      notificationId,
      boxId: benchBoxId,
      messageContentType: 'application/json',
      message: JSON.stringify({
        messageUri: `/customs/transits/movements/departures/${departureId}/messages/${messageId}`,
        notificationType: 'MESSAGE_RECEIVED',
        messageId,
        enrollmentEORINumber: 'GB123456789000',
        departureId,
        messageType: 'IE028',
        messageBody: xml,
      }),
      status: 'PENDING',
      createdDateTime: formatPpnsDateTime(new Date()),
    });
    lines.push(
      JSON.stringify({
        body,
        headers: {
          'content-type': 'application/json',
          'x-hub-signature': signPayload(secret, body),
        },
      }),
    );
  }
  const file = join(tmpdir(), `ctc-bench-${process.pid}-${Date.now()}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, notificationIds };
}

/** A load-generator request source: a JSONL file (cycled) or a notification template. */
export type RequestSource = { file: string } | { template: RequestTemplate; startSequence: number };

export interface LoadRequest {
  source: RequestSource;
  url: string;
  concurrency: number;
  /** Open loop at this many requests per second; closed loop when absent. */
  rate?: number;
  /** Stop after this long... */
  durationSeconds?: number;
  /** ...or after this many requests (a file without either is sent once). */
  count?: number;
  /** Return the wall-clock send time (epoch ms) of every request, indexed from startSequence. */
  recordSendTimes?: boolean;
}

export interface LoadResult {
  sent: number;
  startSequence: number;
  elapsedMs: number;
  perSecond: number;
  statuses: Record<string, number>;
  /** Sequence numbers answered with anything but 200 (first 1,000). */
  failedSequences: number[];
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Open loop only: how late requests left against their schedule (the generator's own lag). */
  lateMs?: { p50: number; p99: number; max: number };
  /** CPU time the load generator itself spent (user + system). */
  cpuMs: number;
  sentAt?: number[];
}

export interface LoadGenerator {
  run: (request: LoadRequest) => Promise<LoadResult>;
  close: () => Promise<void>;
}

/** Forks bench/src/load-generator.ts once; each `run` is one load run in that process. */
export function startLoadGenerator(): LoadGenerator {
  const child = fork(new URL('./load-generator.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<
    number,
    { resolve: (r: LoadResult) => void; reject: (e: Error) => void }
  >();
  let nextId = 0;
  child.on('message', (message: { id: number; result?: LoadResult; error?: string }) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.result !== undefined) waiter?.resolve(message.result);
    else waiter?.reject(new Error(`load generator failed: ${message.error}`));
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values())
      waiter.reject(new Error(`load generator exited with ${code}`));
    pending.clear();
  });
  return {
    run: (request) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ id, request });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

/** One run in a fresh load-generator process. */
export async function runLoad(request: LoadRequest): Promise<LoadResult> {
  const generator = startLoadGenerator();
  try {
    return await generator.run(request);
  } finally {
    await generator.close();
  }
}

/**
 * A signed PPNS envelope with an inline IE028 padded to `messageBytes`, with a placeholder for a
 * sequence number: request n gets notification id `<tag>-0000-4000-8000-<n as 12 hex>`, its own
 * departure and its own message id, so every request is a new notification of a new movement.
 */
export interface RequestTemplate {
  tag: string;
  secret: string;
  parts: string[];
  envelopeBytes: number;
  messageBytes: number;
}

const sequencePlaceholder = '@@SEQ@@';
const sequenceHex = (sequence: number) => sequence.toString(16).padStart(12, '0');

/** An IE028 of at least `bytes` bytes: an XML comment before the closing tag pads it. */
export function paddedIe028(bytes: number, lrn = 'BENCH0000000'): string {
  const xml = buildMessage('IE028', { lrn });
  const missing = bytes - Buffer.byteLength(xml) - '<!--  -->\n'.length;
  if (missing <= 0) return xml;
  const close = xml.lastIndexOf('</');
  return `${xml.slice(0, close)}<!-- ${'x'.repeat(missing)} -->\n${xml.slice(close)}`;
}

export function notificationTemplate({
  secret = benchPushSecret,
  boxId = benchBoxId,
  messageBytes = 2048,
}: { secret?: string; boxId?: string; messageBytes?: number } = {}): RequestTemplate {
  const tag = randomUUID().slice(0, 8);
  const departureId = `${tag.slice(0, 4)}${sequencePlaceholder}`;
  const messageId = `${tag.slice(4, 8)}${sequencePlaceholder}`;
  const xml = paddedIe028(messageBytes);
  const body = JSON.stringify({
    notificationId: `${tag}-0000-4000-8000-${sequencePlaceholder}`,
    boxId,
    messageContentType: 'application/json',
    message: JSON.stringify({
      messageUri: `/customs/transits/movements/departures/${departureId}/messages/${messageId}`,
      notificationType: 'MESSAGE_RECEIVED',
      messageId,
      enrollmentEORINumber: 'GB123456789000',
      departureId,
      messageType: 'IE028',
      messageBody: xml,
    }),
    status: 'PENDING',
    createdDateTime: formatPpnsDateTime(new Date()),
  });
  const parts = body.split(sequencePlaceholder);
  return {
    tag,
    secret,
    parts,
    envelopeBytes: Buffer.byteLength(parts.join(sequenceHex(0))),
    messageBytes: Buffer.byteLength(xml),
  };
}

export const fillTemplate = (template: RequestTemplate, sequence: number): string =>
  template.parts.join(sequenceHex(sequence));

export const notificationIdFor = (template: RequestTemplate, sequence: number): string =>
  `${template.tag}-0000-4000-8000-${sequenceHex(sequence)}`;

/** The sequence number of a notification id made by `template`, or undefined. */
export function sequenceOf(template: RequestTemplate, notificationId: string): number | undefined {
  const prefix = `${template.tag}-0000-4000-8000-`;
  if (!notificationId.startsWith(prefix)) return undefined;
  return Number.parseInt(notificationId.slice(prefix.length), 16);
}

/** The sequence number of a message id made by `template`, or undefined. */
export function sequenceOfMessage(
  template: RequestTemplate,
  messageId: string,
): number | undefined {
  if (!messageId.startsWith(template.tag.slice(4, 8))) return undefined;
  return Number.parseInt(messageId.slice(4), 16);
}

export function percentiles(values: number[]): {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
} {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// Metered child processes: a benchmark runs the code under test in a child process of its own,
// so that the peak RSS and the event-loop delay it reports belong to that code alone (not to the
// load generator, the HMRC sandbox or the bench's own bookkeeping).

/** What a metered child measured between `mark` and `read`. */
export interface MeterReading {
  /** RSS right after the mark (after a full GC when the child runs with --expose-gc). */
  baselineRssBytes: number;
  /** Highest RSS seen above the baseline: max of the 1 ms sampler and the kernel's VmHWM. */
  peakRssGrowthBytes: number;
  /** The sampler's own figure (a thread polling process.memoryUsage.rss() every ~1 ms). */
  sampledPeakRssGrowthBytes: number;
  /** The kernel's high-water mark (VmHWM, reset at the mark through /proc/self/clear_refs). */
  hwmRssGrowthBytes: number | null;
  rssSamples: number;
  /** monitorEventLoopDelay (1 ms resolution) over the interval. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  elapsedMs: number;
}

type ChildRequest = { id: number; command: string; payload: unknown };
type ChildResponse = { id: number; ok: boolean; value?: unknown; error?: string };

const readHwmBytes = async (): Promise<number | null> => {
  try {
    const { readFile } = await import('node:fs/promises');
    const match = /VmHWM:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'));
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
};

const resetHwm = async (): Promise<boolean> => {
  try {
    const { writeFile } = await import('node:fs/promises');
    await writeFile('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
};

/**
 * In a child started by `spawnMeteredChild`: answers the parent's commands. Built in: `mark`
 * (GC, reset the RSS peak and the event-loop histogram) and `read` (a MeterReading since the
 * mark). `ready` is sent to the parent once; resolves when the parent disconnects.
 */
export async function serveMeteredChild(
  handlers: Record<string, (payload: unknown) => Promise<unknown>>,
  ready: unknown,
): Promise<void> {
  const { Worker } = await import('node:worker_threads');
  const { monitorEventLoopDelay, performance } = await import('node:perf_hooks');
  // [peak rss, samples]; the sampler thread writes, mark resets.
  const shared = new Float64Array(new SharedArrayBuffer(16));
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const sampler = new Worker(
    `const { workerData } = require('node:worker_threads');
     const shared = new Float64Array(workerData.shared);
     const stop = new Int32Array(workerData.stop);
     while (Atomics.load(stop, 0) === 0) {
       const rss = process.memoryUsage.rss();
       if (rss > shared[0]) shared[0] = rss;
       shared[1] += 1;
       Atomics.wait(stop, 0, 0, 1);
     }`,
    { eval: true, workerData: { shared: shared.buffer, stop: stop.buffer } },
  );
  sampler.unref();
  let histogram = monitorEventLoopDelay({ resolution: 1 });
  let baseline = process.memoryUsage.rss();
  let markedAt = performance.now();
  let hwmReset = false;

  const builtIn: Record<string, (payload: unknown) => Promise<unknown>> = {
    mark: async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 20));
      histogram.disable();
      histogram = monitorEventLoopDelay({ resolution: 1 });
      baseline = process.memoryUsage.rss();
      hwmReset = await resetHwm();
      shared[0] = baseline;
      shared[1] = 0;
      markedAt = performance.now();
      histogram.enable();
      return { baselineRssBytes: baseline };
    },
    read: async (): Promise<MeterReading> => {
      histogram.disable();
      const hwm = hwmReset ? await readHwmBytes() : null;
      const sampled = Math.max(0, shared[0]! - baseline);
      const hwmGrowth = hwm === null ? null : Math.max(0, hwm - baseline);
      const ms = (ns: number) => Math.round(ns / 1e4) / 100;
      return {
        baselineRssBytes: baseline,
        peakRssGrowthBytes: Math.max(sampled, hwmGrowth ?? 0),
        sampledPeakRssGrowthBytes: sampled,
        hwmRssGrowthBytes: hwmGrowth,
        rssSamples: shared[1]!,
        eventLoopDelayMs: {
          p50: ms(histogram.percentile(50)),
          p99: ms(histogram.percentile(99)),
          max: ms(histogram.max),
        },
        elapsedMs: Math.round(performance.now() - markedAt),
      };
    },
  };
  const all = { ...builtIn, ...handlers };
  await new Promise<void>((resolve) => {
    process.on('message', (message: ChildRequest) => {
      const handler = all[message.command];
      const answer = (response: ChildResponse) => process.send?.(response);
      if (handler === undefined) {
        answer({ id: message.id, ok: false, error: `unknown command ${message.command}` });
        return;
      }
      handler(message.payload).then(
        (value) => answer({ id: message.id, ok: true, value }),
        (error: unknown) =>
          answer({ id: message.id, ok: false, error: (error as Error).stack ?? String(error) }),
      );
    });
    process.on('disconnect', () => resolve());
    process.send?.({ id: 0, ok: true, value: ready } satisfies ChildResponse);
  });
  Atomics.store(stop, 0, 1);
  Atomics.notify(stop, 0);
}

export interface MeteredChild<Ready> {
  ready: Ready;
  pid: number;
  call<T = unknown>(command: string, payload?: unknown): Promise<T>;
  mark(): Promise<void>;
  read(): Promise<MeterReading>;
  /** Disconnects (the child shuts down on its own) and waits for its exit; SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/**
 * Starts `script` (a .ts file, run through tsx) with `--expose-gc` and an IPC channel; resolves
 * once the child called serveMeteredChild and sent its `ready` value.
 */
export async function spawnMeteredChild<Ready>(
  script: string,
  env: Record<string, string>,
): Promise<MeteredChild<Ready>> {
  // Imported here so that this section does not depend on the file's top-level imports.
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
    // The child's stdout (logs) goes to our stderr: our stdout carries the JSON report only.
    stdio: ['ignore', 2, 2, 'ipc'],
    env: { ...process.env, ...env },
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return new Promise((resolveReady, rejectReady) => {
    child.on('exit', (code) => {
      const error = new Error(`child ${script} exited with ${code}`);
      rejectReady(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
    child.on('message', (message: ChildResponse) => {
      if (message.id === 0) {
        const call = <T>(command: string, payload?: unknown) =>
          new Promise<T>((resolve, reject) => {
            const id = nextId++;
            pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
            child.send({ id, command, payload } satisfies ChildRequest);
          });
        resolveReady({
          ready: message.value as Ready,
          pid: child.pid!,
          call,
          mark: async () => {
            await call('mark');
          },
          read: () => call<MeterReading>('read'),
          stop: async () => {
            if (child.exitCode === null && child.connected) child.disconnect();
            const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(timer);
          },
        });
        return;
      }
      const waiter = pending.get(message.id);
      if (waiter === undefined) return;
      pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(message.error));
    });
  });
}

export const mib = (bytes: number, digits = 1) => round(bytes / 2 ** 20, digits);

/**
 * Settings of a one-process stack (scripts/stack.ts) for a benchmark: its own database and Redis
 * prefix, every service on a free loopback port, the sandbox as HMRC at `hmrcPerSecond` (the
 * hub paced to the same rate), logs silent unless LOG_LEVEL says otherwise. Benchmarks run
 * against the local Redis, which has no persistence (nor has CI's).
 */
export function benchStackSettings(
  databaseUrl: string,
  prefix: string,
  hmrcPerSecond: number,
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: prefix,
    REDIS_DURABILITY: process.env.REDIS_DURABILITY ?? 'allow-volatile',
    HTTP_HOST: '127.0.0.1',
    RECEIVER_PORT: '0',
    API_PORT: '0',
    WORKER_PORT: '0',
    SANDBOX_PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    HMRC_API_BASE_URL: '',
    SANDBOX_RATE_LIMIT_PER_SECOND: String(hmrcPerSecond),
    HMRC_RATE_LIMIT_PER_SECOND: String(hmrcPerSecond),
  };
}
