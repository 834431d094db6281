import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Test data kept in the repository (packages/testing/fixtures): HMRC's example messages, with
 * their sources in fixtures/ncts/README.md. Tests and benchmarks read only these, nothing outside
 * the repository, so that `pnpm test` passes in a fresh clone.
 */
export const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Absolute path of a fixture, e.g. fixturePath('ncts/examples/phase5/cc015c-valid.xml'). */
export const fixturePath = (relative: string): string =>
  fileURLToPath(new URL(relative, new URL('../fixtures/', import.meta.url)));
