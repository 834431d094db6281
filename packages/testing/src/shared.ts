import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * HMRC's wider reference material (OpenAPI files, Postman test packs) that maintainers keep beside
 * the repository as ../shared. A user's clone has no ../shared, so `pnpm test` must not need it:
 * only optional suites may read it, and only through describeWithShared.
 */
export const sharedDir = fileURLToPath(new URL('../../../../shared/', import.meta.url));

/**
 * describe() for an optional suite that needs ../shared. When `dir` exists, `body` registers the
 * suite's tests and gets a resolver for paths under it. When it does not, `body` is never called
 * (it may read files while registering tests), the suite shows as one skipped test whose name
 * says what is missing, and a warning says the same in the default reporter's output.
 */
export function describeWithShared(
  name: string,
  body: (sharedPath: (relative: string) => string) => void,
  dir: string = sharedDir,
): void {
  if (existsSync(dir)) {
    describe(name, () => body((relative) => join(dir, relative)));
    return;
  }
  const reason = `needs ../shared (HMRC's reference material beside the repository): ${dir} is absent`;
  console.warn(`${name}: skipped, ${reason}`);
  describe(name, () => {
    it.skip(reason, () => undefined);
  });
}
