import { fileURLToPath } from 'node:url';

/** The repository root (…/main). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The shared reference material that CI places beside the repository (…/shared). */
export const sharedDir = fileURLToPath(new URL('../../../../shared/', import.meta.url));

/** Absolute path of a file under ../shared, e.g. sharedPath('ncts/examples/phase5/cc015c-valid.xml'). */
export const sharedPath = (relative: string): string =>
  fileURLToPath(new URL(relative, new URL('../../../../shared/', import.meta.url)));
