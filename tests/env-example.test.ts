// Risk retired: .env.example drifting from the settings the processes really read, for the
// deployed services (packages/config) and the HMRC sandbox that `pnpm start` runs (its schema is
// its own, in services/hmrc-sandbox/src/config.ts).
import { readFileSync } from 'node:fs';
import { configSections, renderEnvExample, serviceEnvNames } from '@ctc-hub/config';
import { sandboxEnvExampleSection, sandboxEnvNames } from '@ctc-hub/hmrc-sandbox';
import { repoRoot } from '@ctc-hub/testing';

// What scripts/env-example.ts writes.
const generated = () => renderEnvExample([...configSections, sandboxEnvExampleSection]);

describe('.env.example', () => {
  it('is the generated text (run `pnpm env:example` after changing a setting)', () => {
    const committed = readFileSync(`${repoRoot}.env.example`, 'utf8');
    expect(committed).toBe(generated());
  });

  it('lists every variable of every service and of the sandbox', () => {
    const lines = generated().split('\n');
    for (const name of new Set([...Object.values(serviceEnvNames).flat(), ...sandboxEnvNames])) {
      const index = lines.findIndex(
        (line) => line === `${name}=` || line.startsWith(`${name}=`) || line === `# ${name}=`,
      );
      expect([name, index >= 0]).toEqual([name, true]);
    }
  });

  it("copies the sandbox's comments from its own schema", () => {
    expect(generated()).toContain(
      '# Push secret the sandbox signs with; give the receiver the same value in PPNS_PUSH_SECRETS.\n' +
        'SANDBOX_PUSH_SECRET=SANDBOXPUSHSECRETDEVONLY00000000\n',
    );
  });
});
