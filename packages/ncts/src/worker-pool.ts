import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';

export interface WorkerPoolOptions {
  /** import.meta.url of the module that owns the pool; the worker file sits next to it. */
  ownerUrl: string;
  /** Worker file name without extension, e.g. 'parse-worker'. */
  workerName: string;
  /** Named export of the worker module that handles a task. */
  handler: string;
  threads: number;
  workerData?: unknown;
  /** V8 heap limits of each thread (worker_threads ResourceLimits). */
  resourceLimits?: { maxYoungGenerationSizeMb?: number; maxOldGenerationSizeMb?: number };
}

/**
 * A fixed-size Piscina pool whose worker module is resolved next to the owning module with the
 * owner's own extension, so the same code runs from TypeScript sources and from a bundle:
 *
 * - From sources (Jest, `pnpm start` via tsx) the owner is `….ts` and so is the worker. A worker
 *   thread inherits nothing from Jest's module system or from tsx's hooks in the parent, so it is
 *   started with `--import tsx` (resolved from the working directory, the repository root). On
 *   Node 20 that enables tsx's require() hook in the thread but not its ESM hooks, and Piscina
 *   loads the worker with require() first: worker modules must therefore not statically import
 *   anything that uses top-level await (validate-worker.ts imports libxml2-wasm lazily for this).
 * - From an esbuild bundle, `import.meta.url` is the bundle file, so the build must emit each
 *   worker (src/parse/parse-worker.ts, src/validate/validate-worker.ts) as its own entry point
 *   beside every bundle that includes its owner, named `parse-worker` / `validate-worker` with
 *   the bundle's extension (scripts/build.mjs does). Keep `piscina` (it finds its own bootstrap
 *   file on disk) and `libxml2-wasm` (its top-level await deadlocks inside esbuild's lazy module
 *   wrappers) external. Checked with esbuild 0.25, format esm, platform node.
 *
 * minThreads = maxThreads keeps threads (and whatever they cached, such as compiled schemas) alive
 * while the pool exists.
 */
export function createWorkerPool(options: WorkerPoolOptions): Piscina {
  if (!Number.isInteger(options.threads) || options.threads < 1) {
    throw new RangeError(`threads must be a positive integer (got ${options.threads})`);
  }
  const extension = extname(fileURLToPath(options.ownerUrl));
  const filename = new URL(`./${options.workerName}${extension}`, options.ownerUrl).href;
  return new Piscina({
    filename,
    name: options.handler,
    minThreads: options.threads,
    maxThreads: options.threads,
    workerData: options.workerData,
    ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    // Without strict FIFO a queued task can be passed over again and again under steady load
    // (measured: one validation waited 4.2 s behind later ones; 0.3 s with it).
    stricterFIFO: true,
    ...(extension === '.ts' ? { execArgv: ['--import', 'tsx'] } : {}),
  });
}
