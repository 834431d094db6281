/**
 * Benchmark 1: our receiver (signature check, envelope validation, durable enqueue to Redis)
 * against a bare Express handler that reads the raw body and answers 200.
 *
 * Both servers run in this process (the one not being measured is idle); the load comes from a
 * separate load-generator process over loopback; Redis is the local server. Same payload (a
 * signed PPNS envelope with a 2 KB inline IE028, every request a new notification), same
 * concurrency, rounds interleaved (bare, ours, bare, ours…) so both see the same machine.
 *   1. closed loop at `concurrency`: throughput of each, the ratio, ack latency percentiles, and
 *      CPU spent per request by the server, by Redis and by the load generator;
 *   2. open loop at 2,000 notifications/s against our receiver: ack latency percentiles.
 * Any answer other than 200 fails the run.
 *
 *   pnpm exec tsx bench/src/receiver.ts [--quick]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { loadReceiverConfig } from '@ctc-hub/config';
import { startReceiver } from '@ctc-hub/receiver';
import { listen } from '@ctc-hub/telemetry';
import { deleteKeysWithPrefix } from '@ctc-hub/testing';
import express from 'express';
import { Redis } from 'ioredis';
import {
  benchPushSecret,
  notificationTemplate,
  round,
  startLoadGenerator,
  type LoadResult,
} from './lib.js';
import { runIfMain, thousands, type Bench } from './report.js';

interface Round {
  side: 'bare' | 'ours';
  result: LoadResult;
  serverCpuMs: number;
  redisCpuMs: number;
}

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const value = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return (value('used_cpu_user') + value('used_cpu_sys')) * 1000;
}

const ms = (value: number) => round(value, 2);
const latency = (result: Pick<LoadResult, 'latencyMs'>) => ({
  p50: ms(result.latencyMs.p50),
  p95: ms(result.latencyMs.p95),
  p99: ms(result.latencyMs.p99),
  max: ms(result.latencyMs.max),
});
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

function summarise(rounds: Round[]) {
  const sent = rounds.reduce((sum, r) => sum + r.result.sent, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.result.elapsedMs, 0) / 1000;
  const perRequestUs = (total: number) => round((total * 1000) / sent, 1);
  return {
    rounds: rounds.map((r) => round(r.result.perSecond, 0)),
    sent,
    perSecond: round(sent / seconds, 0),
    // Percentiles: the median over rounds of each round's percentile; max: the worst round.
    latencyMs: {
      p50: ms(median(rounds.map((r) => r.result.latencyMs.p50))),
      p95: ms(median(rounds.map((r) => r.result.latencyMs.p95))),
      p99: ms(median(rounds.map((r) => r.result.latencyMs.p99))),
      max: ms(Math.max(...rounds.map((r) => r.result.latencyMs.max))),
    },
    cpuPerRequestUs: {
      server: perRequestUs(rounds.reduce((sum, r) => sum + r.serverCpuMs, 0)),
      redis: perRequestUs(rounds.reduce((sum, r) => sum + r.redisCpuMs, 0)),
      loadGenerator: perRequestUs(rounds.reduce((sum, r) => sum + r.result.cpuMs, 0)),
    },
  };
}

function assertAllAccepted(side: string, result: LoadResult): void {
  const other = Object.entries(result.statuses).filter(([status]) => status !== '200');
  if (other.length > 0)
    throw new Error(
      `${side}: answers other than 200: ${JSON.stringify(Object.fromEntries(other))} (sequences ${result.failedSequences.slice(0, 10).join(', ')})`,
    );
}

export const bench: Bench = async ({ quick }) => {
  const loadAverageAtStart = loadavg().map((value) => round(value, 2));
  const roundSeconds = quick ? 1.2 : 5;
  const pairs = quick ? 1 : 4;
  const openLoopSeconds = quick ? 1.5 : 10;
  const concurrency = 32;
  const rate = 2000;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `{benchrcv${randomBytes(3).toString('hex')}}`;
  const template = notificationTemplate();

  const bareApp = express();
  bareApp.post('/ppns/callback', express.raw({ type: () => true, limit: 512 * 1024 }), (_, res) => {
    res.status(200).json({ status: 'accepted' });
  });
  const bare = await listen(bareApp, 0, '127.0.0.1');
  const receiver = await startReceiver(
    loadReceiverConfig({
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      // Benchmarks run against the local Redis, which has no persistence (nor has CI's).
      REDIS_DURABILITY: process.env.REDIS_DURABILITY ?? 'allow-volatile',
      RECEIVER_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      PPNS_PUSH_SECRETS: benchPushSecret,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    }),
  );
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const generator = startLoadGenerator();
  let sequence = 0;
  const url = (port: number) => `http://127.0.0.1:${port}/ppns/callback`;
  const measure = async (
    side: Round['side'],
    options: { durationSeconds: number; rate?: number; concurrency: number },
  ): Promise<Round> => {
    const cpuBefore = process.cpuUsage();
    const redisBefore = await redisCpuMs(redis);
    const result = await generator.run({
      source: { template, startSequence: sequence },
      url: url(side === 'bare' ? bare.port : receiver.port),
      ...options,
    });
    sequence += result.sent;
    const cpu = process.cpuUsage(cpuBefore);
    const round = {
      side,
      result,
      serverCpuMs: (cpu.user + cpu.system) / 1000,
      redisCpuMs: (await redisCpuMs(redis)) - redisBefore,
    };
    assertAllAccepted(side, result);
    process.stderr.write(
      `receiver bench: ${side}${options.rate !== undefined ? ` @${options.rate}/s` : ''} ${thousands(result.perSecond)}/s p99 ${ms(result.latencyMs.p99)} ms\n`,
    );
    // Keep the queue from growing round after round (Redis memory, key lookups).
    if (side === 'ours') await deleteKeysWithPrefix(redisUrl, prefix);
    return round;
  };

  try {
    // Warm both (JIT, connection pools, Redis scripts).
    await measure('bare', { durationSeconds: quick ? 0.4 : 1, concurrency });
    await measure('ours', { durationSeconds: quick ? 0.4 : 1, concurrency });
    const rounds: Round[] = [];
    for (let pair = 0; pair < pairs; pair += 1) {
      for (const side of ['bare', 'ours'] as const)
        rounds.push(await measure(side, { durationSeconds: roundSeconds, concurrency }));
    }
    const open = await measure('ours', {
      durationSeconds: openLoopSeconds,
      rate,
      concurrency: 256,
    });

    const bareSummary = summarise(rounds.filter((r) => r.side === 'bare'));
    const oursSummary = summarise(rounds.filter((r) => r.side === 'ours'));
    const ratio = round(oursSummary.perSecond / bareSummary.perSecond, 3);
    const openP99 = ms(open.result.latencyMs.p99);
    return {
      id: 'receiver',
      title: '1. Receiver vs bare Express',
      quick,
      figures: {
        loadAverageAtStart,
        layout:
          'bare and ours in the bench process (one at a time), load generator in its own process, local Redis',
        envelopeBytes: template.envelopeBytes,
        messageBytes: template.messageBytes,
        concurrency,
        roundSeconds,
        pairs,
        bare: bareSummary,
        ours: oursSummary,
        throughputRatio: ratio,
        openLoop: {
          targetPerSecond: rate,
          seconds: openLoopSeconds,
          achievedPerSecond: round(open.result.perSecond, 0),
          sent: open.result.sent,
          latencyMs: latency(open.result),
          generatorLateMs: open.result.lateMs,
          cpuPerRequestUs: {
            server: round((open.serverCpuMs * 1000) / open.result.sent, 1),
            redis: round((open.redisCpuMs * 1000) / open.result.sent, 1),
          },
        },
      },
      targets: [
        {
          what: 'receiver throughput vs bare Express (closed loop, same concurrency)',
          target: '≥ 0.8×',
          measured: `${ratio}× (${thousands(oursSummary.perSecond)}/s vs ${thousands(bareSummary.perSecond)}/s)`,
          met: ratio >= 0.8,
        },
        {
          what: `p99 acknowledgement latency at ${thousands(rate)} notifications/s (open loop)`,
          target: '≤ 20 ms',
          measured: `${openP99} ms (p50 ${ms(open.result.latencyMs.p50)} ms, max ${ms(open.result.latencyMs.max)} ms)`,
          met: openP99 <= 20,
        },
      ],
      notes: [
        'The 2 cores are shared by the server, the load generator and (for ours) Redis: the bare handler gets the CPU Redis would use. cpuPerRequestUs shows where the time goes.',
        'Ours answers 200 only after the addBulk carrying the notification returned from Redis (appendonly off on this machine: in memory, not fsynced).',
      ],
    };
  } finally {
    await generator.close();
    await receiver.stop();
    await new Promise<void>((resolve) => {
      bare.server.close(() => resolve());
      bare.server.closeAllConnections();
    });
    redis.disconnect();
    await deleteKeysWithPrefix(redisUrl, prefix);
  }
};

await runIfMain(import.meta.url, bench);
