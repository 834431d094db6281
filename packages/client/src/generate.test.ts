import { readFileSync } from 'node:fs';
import { generatedFiles } from './generate.js';

describe('@ctc-hub/client', () => {
  it('is generated from the OpenAPI document as the api describes it now', async () => {
    const files = await generatedFiles();
    for (const [name, contents] of Object.entries(files)) {
      const committed = readFileSync(new URL(name, import.meta.url), 'utf8');
      // Stale: a route or schema changed without `pnpm client:generate`.
      expect([name, committed === contents]).toEqual([name, true]);
    }
  });
});
