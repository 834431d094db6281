import {
  knownFlowFaults,
  schemaInvalidRequests,
  scriptFaults,
} from '../../scripts/hmrc-pack/flows.js';
import { runPack, type AssertionResult } from '../../scripts/hmrc-pack/run.js';
import { startTarget, type Target } from '../../scripts/hmrc-pack/target.js';

// The quick form of `pnpm test:hmrc-pack` (API 2.1, GB and XI): HMRC's own trader test pack,
// run with newman; every assertion passes except the pack's listed faults, and every request
// naming a flow gets its messages checked. The full run (with the 3.0 pass) is the script.

const stepMs = 60;
let target: Target;
const results: AssertionResult[] = [];

beforeAll(async () => {
  target = await startTarget('hub', stepMs);
  results.push(...(await runPack(target, 'GB', '2.1', stepMs)));
  results.push(...(await runPack(target, 'XI', '2.1', stepMs)));
}, 280_000);
afterAll(() => target?.stop());

const describeFailure = (result: AssertionResult) =>
  `${result.pack} ${result.scenario} / ${result.request}: ${result.assertion}: ${result.error}`;

it('passes every assertion of the pack but its listed faults', () => {
  expect(results.length).toBeGreaterThan(350);
  expect(
    results.filter((result) => !result.passed && result.known === undefined).map(describeFailure),
  ).toEqual([]);
});

it("checks every answer of the run against HMRC's OAS 2.1", () => {
  const checked = results.filter((result) => result.assertion.startsWith("[runner] HMRC's OAS"));
  expect(checked.length).toBeGreaterThan(400);
  expect(checked.filter((result) => !result.passed).map(describeFailure)).toEqual([]);
});

it('checks the flow of every request that names one, GB and XI', () => {
  const flows = results.filter((result) => result.assertion.startsWith('[runner] flow'));
  expect(flows.filter((result) => result.pack === 'GB').length).toBeGreaterThanOrEqual(40);
  expect(flows.filter((result) => result.pack === 'XI').length).toBeGreaterThanOrEqual(50);
  // Only the listed gaps fail.
  expect(flows.filter((result) => !result.passed).map((result) => result.known)).toEqual(
    flows.filter((result) => !result.passed).map(() => 'gap'),
  );
});

it('lists no fault the run did not meet', () => {
  const met = new Set(
    results.map((result) => `${result.pack}/${result.scenario}/${result.request}`),
  );
  const listed = [
    ...Object.keys(knownFlowFaults),
    ...Object.keys(schemaInvalidRequests),
    ...Object.keys(scriptFaults),
  ];
  expect(listed.filter((key) => !met.has(key))).toEqual([]);
});
