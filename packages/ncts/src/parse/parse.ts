import { XMLValidator } from 'fast-xml-parser';
import type { ParseErrorCode, ParseOptions, ParseResult } from '../types.js';
import { MAX_ATTRIBUTE_CHARS, scanXml } from './scan.js';
import { buildSummary, summaryCapturePlan } from './summary.js';

// Keep this module's imports to relative files and fast-xml-parser: the parse worker thread loads
// it without any of the host's module machinery.

export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 64;

const failure = (code: ParseErrorCode, message: string): ParseResult => ({
  ok: false,
  error: { code, message },
});

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses an NCTS message (phase 4, 5 or 6) safely and extracts its summary. Synchronous.
 *
 * Fails closed on anything unsafe (DOCTYPE or entity declarations, excessive size or depth) or not
 * XML at all; an unknown but well-formed message still parses (knownType false) so that it can be
 * stored and flagged rather than lost. Values stay strings exactly as written (an LRN "0012" stays
 * "0012").
 */
export function parseNctsMessage(xml: string | Buffer, options: ParseOptions = {}): ParseResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const warnings: string[] = [];

  let text: string;
  if (typeof xml === 'string') {
    if (xml.length > maxBytes || (xml.length * 3 > maxBytes && Buffer.byteLength(xml) > maxBytes)) {
      return failure('TOO_LARGE', `Document larger than ${maxBytes} bytes`);
    }
    text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  } else {
    if (xml.byteLength > maxBytes) {
      return failure(
        'TOO_LARGE',
        `Document of ${xml.byteLength} bytes is larger than ${maxBytes} bytes`,
      );
    }
    const decoded = decodeUtf8(xml, warnings);
    if (!decoded.ok) return decoded.result;
    text = decoded.text;
  }

  const start = firstNonSpace(text);
  if (start === -1) return failure('EMPTY', 'The document is empty');
  if (text.charCodeAt(start) !== 0x3c) {
    return failure('NOT_NCTS', 'The document is not XML (it does not start with "<")');
  }

  const scan = scanXml(text, summaryCapturePlan, {
    maxDepth,
    maxAttributeChars: MAX_ATTRIBUTE_CHARS,
  });
  if (!scan.ok) {
    const { code, message, line, column } = scan.error;
    return failure(code, line > 0 ? `${message} (line ${line}, column ${column})` : message);
  }

  const wellFormed = XMLValidator.validate(text);
  if (wellFormed !== true) {
    const { line, col, msg } = wellFormed.err;
    return failure('NOT_WELL_FORMED', `${msg} (line ${line}, column ${col})`);
  }

  const encoding = scan.capture.declaredEncoding;
  if (encoding !== null && !/^utf-?8$/i.test(encoding)) {
    warnings.push(`Declared encoding ${encoding} ignored; decoded as UTF-8`);
  }
  return { ok: true, summary: buildSummary(scan.capture, warnings) };
}

type Decoded = { ok: true; text: string } | { ok: false; result: ParseResult };

function decodeUtf8(bytes: Buffer, warnings: string[]): Decoded {
  let body: Buffer = bytes;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) body = bytes.subarray(3);
  else if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return {
      ok: false,
      result: failure(
        'NOT_WELL_FORMED',
        'UTF-16 documents are not accepted; NCTS messages are UTF-8',
      ),
    };
  }
  try {
    return { ok: true, text: strictUtf8.decode(body) };
  } catch {
    // Stored bytes stay as they came; the summary is best effort, so flag rather than refuse.
    warnings.push('Invalid UTF-8 sequences replaced with U+FFFD');
    return { ok: true, text: body.toString('utf8') };
  }
}

function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0x20 && code !== 0x0a && code !== 0x09 && code !== 0x0d) return i;
  }
  return -1;
}
