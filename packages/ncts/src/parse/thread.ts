// STUB: implemented by the ncts helper.
import type { ParseOptions, ParseResult } from '../types.js';
export interface NctsParserOptions extends ParseOptions {
  /** Documents at least this large are parsed in a worker thread. Default 1 MiB. */
  threadThresholdBytes?: number;
  /** Worker threads in the pool. Default 1. */
  threads?: number;
}
/** Parses small documents inline and large ones in a worker-thread pool (job locks keep renewing). */
export class NctsParser {
  constructor(options?: NctsParserOptions) { void options; }
  async parse(xml: Buffer): Promise<ParseResult> { void xml; throw new Error('not implemented'); }
  async close(): Promise<void> {}
}
