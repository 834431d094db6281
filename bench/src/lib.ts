import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMessage } from '@ctc-hub/ncts';
import { formatPpnsDateTime, signPayload } from '@ctc-hub/ppns';

export const benchPushSecret = 'BENCHPUSHSECRET00000000000000000';
export const benchBoxId = '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e';

/** Signed PPNS envelopes, each with an inline IE028 of about 2 KB, written as a load-generator file. */
export function writeNotificationRequests(
  count: number,
  secret = benchPushSecret,
): { file: string; notificationIds: string[] } {
  const lines: string[] = [];
  const notificationIds: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const departureId = randomUUID().replace(/-/g, '').slice(0, 16);
    const messageId = randomUUID().replace(/-/g, '').slice(0, 16);
    const xml = buildMessage('IE028', { lrn: `BENCH${index}`.padEnd(12, '0') });
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

export interface LoadResult {
  sent: number;
  elapsedMs: number;
  perSecond: number;
  statuses: Record<string, number>;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

/** Runs bench/src/load-generator.ts in its own process. */
export function runLoad(args: {
  file: string;
  url: string;
  concurrency: number;
  rate?: number;
  durationSeconds?: number;
}): Promise<LoadResult> {
  const argv = [
    '--import',
    'tsx',
    new URL('./load-generator.ts', import.meta.url).pathname,
    args.file,
    args.url,
    String(args.concurrency),
    String(args.rate ?? 0),
    ...(args.durationSeconds !== undefined ? [String(args.durationSeconds)] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      resolve(JSON.parse(output.trim().split('\n').at(-1)!) as LoadResult);
    });
  });
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
