// Fault 6: every service gets SIGTERM under load (a rolling deploy gone all at once) and is
// started again. Each must exit 0 after finishing or handing back its in-flight work; PPNS and
// the trader's client retry what was refused meanwhile; nothing is lost or sent twice.
import { expectHealthy, Harness } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ name: 'graceful-restart', load: { submissionsPerSecond: 1 } });
}, 60_000);
afterAll(async () => {
  await harness?.stop();
}, 60_000);

it('finishes or retries in-flight work when every service is stopped with SIGTERM', async () => {
  harness.load.start();
  await harness.run(4000);
  const fault = await harness.fault('SIGTERM every service, start again', async () => {
    const stopMs = await Promise.all(harness.all.map((service) => service.signal('SIGTERM')));
    await Promise.all(harness.all.map((service) => service.start()));
    return {
      stopMs: Object.fromEntries(
        harness.all.map((service, index) => [service.name, stopMs[index]]),
      ),
    };
  });
  await harness.recovered(fault);
  await harness.run(2000);
  await harness.settle();
  const report = await harness.check();
  expectHealthy(report);
  for (const service of harness.all)
    expect(service.exits).toEqual([expect.objectContaining({ sent: 'SIGTERM', code: 0 })]);
}, 120_000);
