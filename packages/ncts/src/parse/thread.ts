import type { Piscina } from 'piscina';
import type { ParseOptions, ParseResult } from '../types.js';
import { createWorkerPool } from '../worker-pool.js';
import { DEFAULT_MAX_BYTES, parseNctsMessage } from './parse.js';
import type { ParseTask } from './parse-worker.js';

export interface NctsParserOptions extends ParseOptions {
  /** Documents at least this large are parsed in a worker thread. Default 1 MiB. */
  threadThresholdBytes?: number;
  /** Worker threads in the pool. Default 1. */
  threads?: number;
}

export const DEFAULT_THREAD_THRESHOLD_BYTES = 1024 * 1024;

/**
 * Parses small documents inline and large ones in a worker-thread pool, so that a multi-megabyte
 * message (tens of milliseconds of parsing) never stalls the event loop that renews BullMQ job
 * locks and answers health checks. Inline parsing of a typical message costs tens of microseconds,
 * far less than a round trip to a thread.
 *
 * The pool starts on the first large document. Bundled builds must emit the worker entry
 * (see createWorkerPool).
 */
export class NctsParser {
  readonly #parseOptions: ParseOptions;
  readonly #threshold: number;
  readonly #threads: number;
  #pool: Piscina | null = null;
  #closed = false;

  constructor(options: NctsParserOptions = {}) {
    const { threadThresholdBytes, threads, ...parseOptions } = options;
    this.#parseOptions = parseOptions;
    this.#threshold = threadThresholdBytes ?? DEFAULT_THREAD_THRESHOLD_BYTES;
    this.#threads = threads ?? 1;
    if (!Number.isInteger(this.#threads) || this.#threads < 1) {
      throw new RangeError(`threads must be a positive integer (got ${this.#threads})`);
    }
  }

  /**
   * Resolves with the parse result, errors in the document included; rejects only when the
   * parser itself fails (closed, or a worker thread died), which a job should retry.
   */
  async parse(xml: Buffer): Promise<ParseResult> {
    if (this.#closed) throw new Error('NctsParser is closed');
    // Oversized documents are refused inline: no point copying them to a thread first.
    const maxBytes = this.#parseOptions.maxBytes ?? DEFAULT_MAX_BYTES;
    if (xml.byteLength < this.#threshold || xml.byteLength > maxBytes) {
      return parseNctsMessage(xml, this.#parseOptions);
    }
    this.#pool ??= createWorkerPool({
      ownerUrl: import.meta.url,
      workerName: 'parse-worker',
      handler: 'parseTask',
      threads: this.#threads,
      // The scan makes many small short-lived objects; left alone, V8 grows the thread's young
      // generation to its default maximum (tens of MiB per thread) and keeps it. A small one
      // costs more scavenges on big documents and keeps the worker's RSS near 4× the message.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    // Not transferred: callers keep and store the raw message. A Buffer over a SharedArrayBuffer
    // (the HMRC client reads large bodies into one) reaches the thread without a copy; any other
    // is copied by the structured clone.
    const task: ParseTask = { xml, options: this.#parseOptions };
    return (await this.#pool.run(task)) as ParseResult;
  }

  /** Lets running parses finish, then stops the worker threads; parse() fails afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = null;
    await pool?.close();
  }
}
