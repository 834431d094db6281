import type { ParseOptions, ParseResult } from '../types.js';
import { parseNctsMessage } from './parse.js';

// Worker-thread entry of NctsParser. Its imports stay relative (plus fast-xml-parser, via
// parse.ts) so the file loads the same from sources under tsx and from a bundle.

export interface ParseTask {
  /** Structured-cloned bytes of the document (a Buffer arrives as a plain Uint8Array). */
  xml: Uint8Array;
  options: ParseOptions;
}

export function parseTask(task: ParseTask): ParseResult {
  const bytes = Buffer.from(task.xml.buffer, task.xml.byteOffset, task.xml.byteLength);
  return parseNctsMessage(bytes, task.options);
}
