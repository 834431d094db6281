// Fault 5: PPNS duplicates, reorders and drops pushes under load. Duplicates are stored once,
// order does not matter, and dropped notifications (PENDING in the box) are found by the pull.
import { expectHealthy, Harness } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ name: 'push-faults' });
}, 60_000);
afterAll(async () => {
  await harness?.stop();
}, 60_000);

it('stores every message exactly once when pushes are duplicated, reordered and dropped', async () => {
  const controls = harness.sandbox.controls;
  harness.load.start();
  await harness.run(2000);
  const fault = await harness.fault('PPNS push faults 12 s', async () => {
    controls.setFaults({
      seed: 5,
      push: {
        dropRate: 0.1,
        duplicateRate: 0.1,
        duplicateDelayMs: 20,
        reorderRate: 0.1,
        reorderDelayMs: 500,
      },
    });
    await harness.run(12_000);
    controls.clearFaults();
  });
  await harness.recovered(fault);
  await harness.settle();
  const report = await harness.check();
  expectHealthy(report);
  expect(report.hmrc.pushes.dropped).toBeGreaterThan(0);
  expect(report.hmrc.pushes.duplicated).toBeGreaterThan(0);
  expect(report.hmrc.pushes.reordered).toBeGreaterThan(0);
}, 120_000);
