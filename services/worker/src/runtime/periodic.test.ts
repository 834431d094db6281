// Risk retired: a daily job (retention, token re-encryption) that runs twice at once in one
// process, dies for good after one failure, or is cut off half-way when the worker stops.
import { setTimeout as sleep } from 'node:timers/promises';
import type { OpsDeps } from './deps.js';
import { periodicTask } from './periodic.js';

const warnings: string[] = [];
const deps = {
  logger: { warn: (_fields: object, message: string) => warnings.push(message) },
} as unknown as OpsDeps;

it('runs after the first delay, then every interval, never overlapping, and survives failures', async () => {
  let runs = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const task = periodicTask({
    name: 'test',
    firstRunDelayMs: 20,
    intervalMs: 15,
    failure: 'test run failed',
    work: async () => {
      runs += 1;
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await sleep(40); // longer than the interval: ticks meanwhile must not start a second run
      concurrent -= 1;
      if (runs === 1) throw new Error('first run fails');
    },
  });
  const handle = await task.start(deps);
  await sleep(10);
  expect(runs).toBe(0);
  await sleep(400);
  await handle.stop();
  expect(runs).toBeGreaterThanOrEqual(2);
  expect(maxConcurrent).toBe(1);
  expect(warnings).toEqual(['test run failed']);
});

it('lets a run in progress finish when stopped, and starts no more', async () => {
  let finished = 0;
  let started = 0;
  const task = periodicTask({
    name: 'test',
    firstRunDelayMs: 1,
    intervalMs: 1000,
    failure: 'x',
    work: async () => {
      started += 1;
      await sleep(50);
      finished += 1;
    },
  });
  const handle = await task.start(deps);
  await sleep(10);
  await handle.stop();
  expect({ started, finished }).toEqual({ started: 1, finished: 1 });
  await sleep(30);
  expect(started).toBe(1);
});
