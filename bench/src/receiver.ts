/**
 * Benchmark 1: our receiver (signature check, envelope validation, durable enqueue) against a
 * bare Express handler that reads the raw body and answers 200 — same process, same payloads
 * (signed PPNS envelopes with an inline IE028), same concurrency, load from a separate process.
 *   1. closed loop at `concurrency`: sustained throughput of each, and the ratio;
 *   2. open loop at `rate`/s against the receiver: acknowledgement latency percentiles.
 *
 *   tsx bench/src/receiver.ts [--quick]
 */
import { randomBytes } from 'node:crypto';
import { loadReceiverConfig } from '@ctc-hub/config';
import { startReceiver } from '@ctc-hub/receiver';
import { listen } from '@ctc-hub/telemetry';
import { deleteKeysWithPrefix } from '@ctc-hub/testing';
import express from 'express';
import {
  benchPushSecret,
  round,
  runLoad,
  writeNotificationRequests,
  type LoadResult,
} from './lib.js';

export interface ReceiverBenchResult {
  payloadBytes: number;
  concurrency: number;
  durationSeconds: number;
  bare: LoadResult;
  receiver: LoadResult;
  throughputRatio: number;
  openLoop: { targetPerSecond: number; result: LoadResult };
}

export async function receiverBench(options: {
  quick: boolean;
  redisUrl?: string;
}): Promise<ReceiverBenchResult> {
  const durationSeconds = options.quick ? 4 : 15;
  const concurrency = 32;
  const rate = 2000;
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `{benchrcv${randomBytes(3).toString('hex')}}`;

  const bareApp = express();
  bareApp.post(
    '/ppns/callback',
    express.raw({ type: () => true, limit: 512 * 1024 }),
    (_request, response) => {
      response.status(200).json({ status: 'accepted' });
    },
  );
  const bare = await listen(bareApp, 0, '127.0.0.1');
  const receiver = await startReceiver(
    loadReceiverConfig({
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      RECEIVER_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      PPNS_PUSH_SECRETS: benchPushSecret,
      LOG_LEVEL: 'silent',
    }),
  );
  try {
    const { file } = writeNotificationRequests(options.quick ? 5_000 : 40_000);
    const payloadBytes = JSON.parse(
      (await import('node:fs')).readFileSync(file, 'utf8').split('\n')[0]!,
    ).body.length;
    const target = (port: number) => `http://127.0.0.1:${port}/ppns/callback`;
    // Warm both (JIT, connection pools), then measure alternately.
    await runLoad({ file, url: target(bare.port), concurrency, durationSeconds: 1 });
    await runLoad({ file, url: target(receiver.port), concurrency, durationSeconds: 1 });
    const bareResult = await runLoad({
      file,
      url: target(bare.port),
      concurrency,
      durationSeconds,
    });
    const receiverResult = await runLoad({
      file,
      url: target(receiver.port),
      concurrency,
      durationSeconds,
    });
    const openLoop = await runLoad({
      file,
      url: target(receiver.port),
      concurrency: 256,
      rate,
      durationSeconds,
    });
    return {
      payloadBytes,
      concurrency,
      durationSeconds,
      bare: bareResult,
      receiver: receiverResult,
      throughputRatio: round(receiverResult.perSecond / bareResult.perSecond, 3),
      openLoop: { targetPerSecond: rate, result: openLoop },
    };
  } finally {
    await receiver.stop();
    await new Promise<void>((resolve) => bare.server.close(() => resolve()));
    bare.server.closeAllConnections();
    await deleteKeysWithPrefix(redisUrl, prefix);
  }
}

if (process.argv[1]?.endsWith('receiver.ts')) {
  const result = await receiverBench({ quick: process.argv.includes('--quick') });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
