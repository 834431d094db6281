// STUB: implemented by the ncts helper.
import type { ParseOptions, ParseResult } from '../types.js';
/** Parses an NCTS message (phase 4, 5 or 6) safely and extracts its summary. Synchronous. */
export function parseNctsMessage(xml: string | Buffer, options?: ParseOptions): ParseResult { void xml; void options; throw new Error('not implemented'); }
