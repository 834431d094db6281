#!/usr/bin/env node
// `pnpm build`: production bundles of the deployed services with esbuild. Workspace packages
// (TypeScript sources) are bundled in; npm dependencies stay external and come from node_modules
// at run time. Test-side code (the HMRC sandbox, @ctc-hub/ncts-testkit, test helpers) is never
// among them; tests/production-bundles.test.ts reads the source maps to make sure.
// `pnpm build:sandbox` (`--sandbox`): the HMRC sandbox on its own, into dist-sandbox/, for
// docker-compose's stand-in for HMRC (infra/Dockerfile's hmrc-sandbox target).
// `--outdir DIR` writes somewhere else (tests build into a temporary directory).
//
// Layout (relied on by packages/ncts, which finds its worker files and XSDs relative to
// import.meta.url):
//   dist/<service>/bin/main.js           the service
//   dist/<service>/bin/parse-worker.js   worker-thread entries beside every bundle that needs them
//   dist/<service>/bin/validate-worker.js
//   dist/xsd/{phase5,phase6}/…           NCTS schemas ('../../xsd/' from a bin directory)
//   dist/api/assets/redoc.standalone.js  the /docs renderer ('../assets/' from the api's bin)
//   dist/migrate/bin/main.js             `node dist/migrate/bin/main.js` applies migrations
//   dist/cli/bin/main.js                 the operator CLI (`ctc-hub` in the image)
//   dist-sandbox/hmrc-sandbox/bin/…, dist-sandbox/xsd/   the same layout for the sandbox
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values: options } = parseArgs({
  options: { outdir: { type: 'string' }, sandbox: { type: 'boolean', default: false } },
});
const outdir = options.outdir ?? (options.sandbox ? 'dist-sandbox' : 'dist');

const production = {
  receiver: 'services/receiver/src/main.ts',
  worker: 'services/worker/src/main.ts',
  api: 'services/api/src/main.ts',
  migrate: 'packages/db/src/migrate-cli.ts',
  // The operator CLI (`ctc-hub` in the image): an HTTP client of the api, no worker threads.
  cli: 'packages/cli/src/main.ts',
};
const withoutWorkers = new Set(['cli']);
const sandbox = { 'hmrc-sandbox': 'services/hmrc-sandbox/src/main.ts' };
const services = options.sandbox ? sandbox : production;
const workers = {
  'parse-worker': 'packages/ncts/src/parse/parse-worker.ts',
  'validate-worker': 'packages/ncts/src/validate/validate-worker.ts',
};

rmSync(outdir, { recursive: true, force: true });
for (const [name, entry] of Object.entries(services)) {
  await build({
    entryPoints: { main: entry, ...(withoutWorkers.has(name) ? {} : workers) },
    outdir: `${outdir}/${name}/bin`,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [
      {
        // Workspace packages are bundled (they are TypeScript sources); every npm package stays
        // external and is loaded from node_modules.
        name: 'externalise-npm-packages',
        setup(context) {
          context.onResolve({ filter: /^[^./]/ }, (args) =>
            args.kind === 'entry-point' || args.path.startsWith('@ctc-hub/')
              ? undefined
              : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  process.stdout.write(`built ${outdir}/${name}/bin/main.js\n`);
}
cpSync('packages/ncts/xsd', `${outdir}/xsd`, { recursive: true });
if (!options.sandbox) {
  // /docs renders with Redoc's standalone bundle: one file, shipped beside the api so the image
  // needs none of redoc's own dependencies (services/api/src/openapi/routes.ts finds it here).
  const redoc = createRequire(new URL('../services/api/package.json', import.meta.url)).resolve(
    'redoc/bundles/redoc.standalone.js',
  );
  cpSync(redoc, `${outdir}/api/assets/redoc.standalone.js`);
  process.stdout.write(`copied Redoc's standalone bundle to ${outdir}/api/assets\n`);
}
process.stdout.write(`copied NCTS schemas to ${outdir}/xsd\n`);
