// `pnpm env:example`: regenerates .env.example from the config schemas: the deployed services'
// (packages/config) and, after them, the HMRC sandbox's, which is test-side and owns its schema.
// tests/env-example.test.ts checks the committed file against the same composition.
import { writeFileSync } from 'node:fs';
import { configSections, renderEnvExample } from '../packages/config/src/env-example.js';
import { sandboxEnvExampleSection } from '../services/hmrc-sandbox/src/config.js';

writeFileSync('.env.example', renderEnvExample([...configSections, sandboxEnvExampleSection]));
process.stdout.write('wrote .env.example\n');
