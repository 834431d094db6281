// `pnpm client:generate`: regenerates packages/client (the typed client of our API) from the
// OpenAPI document the api builds from its zod schemas. Run it after changing a route; the
// client's test fails while the committed files are stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from '../packages/client/src/generate.js';

const directory = fileURLToPath(new URL('../packages/client/src/', import.meta.url));
for (const [name, contents] of Object.entries(await generatedFiles())) {
  writeFileSync(directory + name, contents);
  console.log(`wrote packages/client/src/${name}`);
}
