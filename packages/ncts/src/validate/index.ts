import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import type { SchemaPhase, ValidationResult } from '../types.js';
import { createWorkerPool } from '../worker-pool.js';
import type { ValidateTask, ValidatorWorkerData } from './validate-worker.js';

export interface XsdValidatorOptions {
  /** Worker threads, each with its own compiled schemas. Default 1. */
  threads?: number;
  /**
   * Directory holding the phase5/ and phase6/ schema sets. Default: `../../xsd/` from this module,
   * which is packages/ncts/xsd from sources and dist/xsd from a bundle in dist/<service>/bin/
   * (the layout scripts/build.mjs produces).
   */
  schemaDir?: string;
  /** Largest document accepted (bytes). Default 32 MiB. */
  maxBytes?: number;
  /** Deepest element nesting accepted. Default 64. */
  maxDepth?: number;
  /** Errors reported per document; the rest are summarised in one extra issue. Default 100. */
  maxErrors?: number;
}

/**
 * CTC Traders API media-type version → schema set: 3.x is phase 6; 2.x (and the retired 1.0, which
 * has no XSDs of its own here) use phase 5.
 */
export function schemaPhaseForApiVersion(version: string): SchemaPhase {
  const major = Number.parseInt(version, 10);
  return major >= 3 ? 'phase6' : 'phase5';
}

/**
 * XSD validation of NCTS messages with libxml2 (WASM) in a small worker-thread pool: a validation
 * takes about 0.1 ms for a small declaration and tens of milliseconds for a multi-megabyte one,
 * and none of it runs on the caller's event loop. The schema for a root element (CC015C →
 * cc015c.xsd) is compiled once per thread, on first use.
 *
 * Fails closed: anything that cannot be validated (not UTF-8, DOCTYPE, no schema for the root
 * element, not well-formed) is an error result, never a pass. Bundled builds must emit the worker
 * entry (see createWorkerPool).
 */
export class XsdValidator {
  readonly #threads: number;
  readonly #workerData: ValidatorWorkerData;
  #pool: Piscina | null = null;
  #closed = false;

  constructor(options: XsdValidatorOptions = {}) {
    this.#threads = options.threads ?? 1;
    if (!Number.isInteger(this.#threads) || this.#threads < 1) {
      throw new RangeError(`threads must be a positive integer (got ${this.#threads})`);
    }
    this.#workerData = {
      schemaDir: options.schemaDir ?? fileURLToPath(new URL('../../xsd/', import.meta.url)),
      maxBytes: options.maxBytes ?? 32 * 1024 * 1024,
      maxDepth: options.maxDepth ?? 64,
      maxErrors: options.maxErrors ?? 100,
    };
  }

  async validate(xml: Buffer | string, phase: SchemaPhase): Promise<ValidationResult> {
    if (this.#closed) throw new Error('XsdValidator is closed');
    this.#pool ??= createWorkerPool({
      ownerUrl: import.meta.url,
      workerName: 'validate-worker',
      handler: 'validateTask',
      threads: this.#threads,
      workerData: this.#workerData,
    });
    const task: ValidateTask = { xml, phase };
    return (await this.#pool.run(task)) as ValidationResult;
  }

  /** Lets running validations finish, then stops the worker threads. */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = null;
    await pool?.close();
  }
}
