// Risk retired: test code shipping to production. The NCTS message generators, the HMRC sandbox
// and test helpers must never end up in a production bundle (and so never in the image that runs
// it). `pnpm build` is run into a temporary directory and each bundle's source maps are read for
// the files its code came from.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@ctc-hub/testing';

const run = promisify(execFile);

const productionBundles = {
  api: 'services/api/src/main.ts',
  cli: 'packages/cli/src/main.ts',
  migrate: 'packages/db/src/migrate-cli.ts',
  receiver: 'services/receiver/src/main.ts',
  worker: 'services/worker/src/main.ts',
};

/** Where test-side code lives; a production bundle must hold none of it. */
const testSide: { what: string; pattern: RegExp }[] = [
  { what: 'NCTS message generators', pattern: /^packages\/ncts-testkit\/|\/generate\// },
  { what: 'the HMRC sandbox', pattern: /^services\/hmrc-sandbox\// },
  { what: 'test infrastructure', pattern: /^packages\/testing\// },
  {
    what: 'test helpers and tests',
    pattern: /\/test-support\/|\/test-helpers\.ts$|-fixtures\.ts$|\.test\.ts$/,
  },
];

let outdir: string;
let sandboxOutdir: string;

const build = (directory: string, ...options: string[]) =>
  run(process.execPath, ['scripts/build.mjs', '--outdir', directory, ...options], {
    cwd: repoRoot,
    timeout: 120_000,
  });

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'ctc-hub-build-'));
  sandboxOutdir = mkdtempSync(join(tmpdir(), 'ctc-hub-build-sandbox-'));
  await build(outdir);
  await build(sandboxOutdir, '--sandbox');
}, 150_000);

afterAll(() => {
  for (const directory of [outdir, sandboxOutdir]) {
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  }
});

/** The workspace files (repository-relative) whose code is in a bundle, from its source maps. */
function workspaceSources(directory: string): string[] {
  const binDirectory = join(directory, 'bin');
  const sources = new Set<string>();
  for (const file of readdirSync(binDirectory).filter((name) => name.endsWith('.js.map'))) {
    const map = JSON.parse(readFileSync(join(binDirectory, file), 'utf8')) as {
      sources: string[];
    };
    for (const source of map.sources) {
      const path = relative(repoRoot, resolve(binDirectory, source)).split('\\').join('/');
      if (!path.includes('node_modules/')) sources.add(path);
    }
  }
  return [...sources].sort();
}

describe('pnpm build', () => {
  it('bundles the production services and nothing else', () => {
    const bundles = readdirSync(outdir).filter((name) => name !== 'xsd');
    expect(bundles.sort()).toEqual(Object.keys(productionBundles).sort());
  });

  it.each(Object.entries(productionBundles))('%s holds no test-side code', (bundle, entry) => {
    const sources = workspaceSources(join(outdir, bundle));
    // The maps are read correctly: the service's own entry point is among the sources.
    expect(sources).toContain(entry);
    const found = sources.flatMap((source) =>
      testSide
        .filter(({ pattern }) => pattern.test(source))
        .map(({ what }) => `${source} (${what})`),
    );
    expect(found).toEqual([]);
  });
});

describe('pnpm build:sandbox', () => {
  it("bundles the HMRC sandbox on its own, for docker-compose's hmrc-sandbox target", () => {
    expect(readdirSync(sandboxOutdir).sort()).toEqual(['hmrc-sandbox', 'xsd']);
    const sources = workspaceSources(join(sandboxOutdir, 'hmrc-sandbox'));
    expect(sources).toContain('services/hmrc-sandbox/src/main.ts');
    expect(sources).toContain('packages/ncts-testkit/src/builders.ts');
  });
});
