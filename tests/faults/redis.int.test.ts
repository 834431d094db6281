// Fault 2: Redis (AOF, appendfsync everysec) is restarted under load, and separately made
// unreachable for 10 s (connections refused and cut by a TCP proxy). The receiver must answer 503
// rather than 200 while it cannot queue (PPNS pushes again), and nothing queued may be lost.
import { expectHealthy, Harness } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ name: 'redis', redisProxy: true });
}, 60_000);
afterAll(async () => {
  await harness?.stop();
}, 60_000);

it('loses and doubles nothing across a Redis restart and a 10 s Redis outage', async () => {
  harness.load.start();
  await harness.run(3000);
  const restart = await harness.fault('Redis restart (SIGTERM, AOF reload)', async () => {
    await harness.redis.stop();
    await harness.run(2000);
    await harness.redis.start();
  });
  await harness.recovered(restart);
  await harness.run(2000);
  const outage = await harness.fault('Redis unreachable 10 s (TCP refused + cut)', async () => {
    await harness.redisProxy!.stop();
    await harness.run(10_000);
    await harness.redisProxy!.start();
  });
  await harness.recovered(outage);
  await harness.run(2000);
  await harness.settle();
  const report = await harness.check();
  expectHealthy(report);
  // Pushes were turned away (503) during the faults, and delivered again afterwards.
  expect(report.notifications.gatewayAnswers['503'] ?? 0).toBeGreaterThan(0);
}, 120_000);
