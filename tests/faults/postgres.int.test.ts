// Fault 3: PostgreSQL (a cluster of the test's own) stops for 20 s under load and starts again.
// The receiver keeps accepting pushes into Redis; the worker's batches fail and are retried; the
// api's declarations are refused (5xx) until it is back, and retried by the client.
import { expectHealthy, Harness } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ name: 'postgres', postgres: 'own' });
}, 60_000);
afterAll(async () => {
  await harness?.stop();
}, 60_000);

it('loses and doubles nothing when PostgreSQL is down for 20 s', async () => {
  harness.load.start();
  await harness.run(3000);
  const outage = await harness.fault('PostgreSQL stopped 20 s (fast shutdown)', async () => {
    await harness.postgres!.stop();
    await harness.run(20_000);
    await harness.postgres!.start();
  });
  await harness.recovered(outage);
  await harness.settle();
  const report = await harness.check();
  expectHealthy(report);
  // The receiver does not need Postgres: pushes kept being accepted during the outage.
  expect(report.notifications.gatewayAnswers['503'] ?? 0).toBe(0);
}, 120_000);
