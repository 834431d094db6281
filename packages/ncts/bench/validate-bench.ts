// XSD validation throughput: `pnpm exec tsx packages/ncts/bench/validate-bench.ts` from the
// repository root. Reports validations/s of cc015c-valid.xml with 1 and 2 worker threads, and
// the time of one validation of a generated ~2 MB IE015. The generator comes from the test-side
// @ctc-hub/ncts-testkit, resolved through the workspace root: declaring it here would make the two
// packages depend on each other (the testkit's tests use this package).
import { readFileSync } from 'node:fs';
import { buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { fixturePath } from '@ctc-hub/testing';
import { XsdValidator } from '../src/validate/index.js';

const declaration = readFileSync(fixturePath('ncts/examples/phase5/cc015c-valid.xml'));
const durationMs = Number(process.env.BENCH_MS ?? 3000);

async function throughput(threads: number): Promise<number> {
  const validator = new XsdValidator({ threads });
  try {
    // Warm up every thread (schema compilation happens once per thread).
    await Promise.all(
      Array.from({ length: threads * 4 }, () => validator.validate(declaration, 'phase5')),
    );
    let done = 0;
    const deadline = performance.now() + durationMs;
    const start = performance.now();
    // Keep a few tasks in flight per thread so no thread waits on the main thread.
    const lane = async () => {
      while (performance.now() < deadline) {
        const result = await validator.validate(declaration, 'phase5');
        if (!result.ok) throw new Error(`unexpected result: ${JSON.stringify(result)}`);
        done++;
      }
    };
    await Promise.all(Array.from({ length: threads * 4 }, lane));
    return (done * 1000) / (performance.now() - start);
  } finally {
    await validator.close();
  }
}

async function largeDeclaration(): Promise<void> {
  const xml = Buffer.from(buildMessageOfSize('IE015', 2_000_000));
  const validator = new XsdValidator();
  try {
    await validator.validate(declaration, 'phase5');
    const times: number[] = [];
    let last = null;
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      last = await validator.validate(xml, 'phase5');
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    console.log(
      `IE015 of ${(xml.byteLength / 1e6).toFixed(2)} MB: median ${times[2]?.toFixed(1)} ms per validation (valid: ${last?.ok})`,
    );
  } finally {
    await validator.close();
  }
}

for (const threads of [1, 2]) {
  console.log(
    `cc015c-valid.xml, ${threads} thread(s): ${(await throughput(threads)).toFixed(0)} validations/s`,
  );
}
await largeDeclaration();
