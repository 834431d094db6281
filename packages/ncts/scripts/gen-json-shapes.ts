/**
 * Regenerates src/json/shapes.phase{5,6}.ts from the vendored XSDs (see src/json/xsd-shapes.ts).
 * Run after updating packages/ncts/xsd: `pnpm --filter @ctc-hub/ncts gen:json-shapes`.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSchemaShapes, shapesModule } from '../src/json/xsd-shapes.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const phase of ['phase5', 'phase6'] as const) {
  const shapes = readSchemaShapes(join(root, 'xsd', phase));
  writeFileSync(join(root, 'src', 'json', `shapes.${phase}.ts`), shapesModule(phase, shapes));
}
