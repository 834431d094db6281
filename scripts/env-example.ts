// `pnpm env:example`: regenerates .env.example from the config schemas.
import { writeFileSync } from 'node:fs';
import { renderEnvExample } from '../packages/config/src/env-example.js';

writeFileSync('.env.example', renderEnvExample());
process.stdout.write('wrote .env.example\n');
