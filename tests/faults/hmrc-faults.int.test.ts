// Fault 4: HMRC (the sandbox) answers 5xx, 429 with Retry-After, slowly (latency and trickled
// bodies) and resets connections, including after accepting a declaration, under load. Fetches
// and declarations are retried; a declaration HMRC may already hold is looked up before resending.
import { expectHealthy, Harness } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ name: 'hmrc-faults', load: { submissionsPerSecond: 1 } });
}, 60_000);
afterAll(async () => {
  await harness?.stop();
}, 60_000);

it('loses and doubles nothing while HMRC fails, throttles, stalls and resets', async () => {
  const controls = harness.sandbox.controls;
  harness.load.start();
  await harness.run(2000);
  const fault = await harness.fault('HMRC API faults 15 s', async () => {
    controls.setFaults({
      seed: 4,
      api: {
        paths: '^/(customs|misc)/',
        errorRate: 0.15,
        errorStatuses: [500, 502, 503],
        throttleRate: 0.1,
        retryAfterSeconds: 1,
        latencyMs: [0, 1500],
        resetRate: 0.1,
        slowBodyRate: 0.05,
        slowBodyBytesPerSecond: 4096,
        acceptThenResetRate: 0.1,
        acceptThenTimeoutRate: 0.05,
      },
    });
    await harness.run(15_000);
    controls.clearFaults();
  });
  await harness.recovered(fault);
  await harness.run(2000);
  await harness.settle();
  const report = await harness.check();
  expectHealthy(report);
  // Which faults hit depends on how many calls fell in the window; their total is what matters.
  const injected = report.hmrc.injected;
  const failures = ['errors', 'throttle', 'resets', 'slowBodies', 'acceptThenReset'].reduce(
    (sum, kind) => sum + (injected[kind] ?? 0),
    0,
  );
  expect(failures).toBeGreaterThanOrEqual(5);
  expect(injected.latency ?? 0).toBeGreaterThan(0);
}, 120_000);
