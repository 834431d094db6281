/**
 * The hub (receiver, worker, api: scripts/stack.ts without a sandbox) in a process of its own,
 * for benchmarks that count HMRC calls at a sandbox the hub's work must not delay, as it cannot
 * delay HMRC's gateway. Configured by the environment; prints one JSON line when ready
 * (`{ apiUrl, apiKey }`), then answers lines on stdin: `reset` starts measuring the event loop's
 * delay, `delay` prints it (ms), `stop` stops the stack and exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { startStack } from '../../scripts/stack.js';

const stack = await startStack(process.env);
const delay = monitorEventLoopDelay({ resolution: 10 });
process.stdout.write(`${JSON.stringify({ apiUrl: stack.apiUrl, apiKey: stack.apiKey })}\n`);

const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e5) / 10;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'reset') {
    delay.reset();
    delay.enable();
  } else if (line === 'delay') {
    process.stdout.write(
      `${JSON.stringify({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) })}\n`,
    );
  } else if (line === 'stop') {
    break;
  }
}
delay.disable();
await stack.stop();
process.exit(0);
