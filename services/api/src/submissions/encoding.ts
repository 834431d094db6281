import { isUtf8 } from 'node:buffer';

/**
 * Character encodings of a declaration. HMRC's CTC Traders API takes XML in UTF-8: its OAS lists
 * `application/xml` as the only XML content type, its router accepts that or exactly
 * `application/xml; charset=utf-8` (Play's ContentTypes.XML) and refuses any other charset with
 * 415 (reference §3.1), and transit-movements stores a small message's body decoded as UTF-8
 * (MessageService.getMessageBody, `utf8String`). What reaches HMRC's parsers besides:
 *  - UTF-16 or UTF-32 (with or without a byte order mark): HMRC first reads the root element with
 *    Aalto's asynchronous parser, which reads UTF-8, US-ASCII and ISO-8859-1 only and has no
 *    byte-order-mark handling, so HMRC answers 400 BAD_REQUEST "Input was malformed". So do we.
 *  - an XML declaration naming another encoding (windows-1252, UTF-16 in an 8-bit document):
 *    the same parser refuses it ("Unsupported encoding"), 400 "Input was malformed". So do we.
 *  - `encoding="ISO-8859-1"` (or US-ASCII): HMRC's parsers read it, and HMRC stores and serves the
 *    body as UTF-8. When every byte is ASCII that is harmless (the bytes are the same in UTF-8),
 *    and we forward it unchanged as HMRC would take it. A byte above 127 (é in Latin-1) would be
 *    replaced by U+FFFD in HMRC's copy, so we refuse that document rather than send it.
 *  - no declaration, bytes that are not UTF-8: HMRC's schema validation refuses it (400).
 * We never convert: the bytes HMRC receives are the trader's, as the idempotency hash and the
 * stored outbound message assume. Each refusal says which encoding we saw and asks for UTF-8.
 */

export interface EncodingIssue {
  lineNumber: number;
  columnNumber: number;
  message: string;
}

const utf8Only = 'HMRC accepts declarations only in UTF-8: convert the document to UTF-8';
const utf8Names = new Set(['UTF-8', 'UTF8']);
const asciiCompatibleNames = new Set([
  'US-ASCII',
  'ASCII',
  'ISO-8859-1',
  'ISO8859-1',
  'ISO_8859-1',
  'ISO_8859_1',
  'LATIN1',
  'LATIN-1',
  'L1',
]);

/** `encoding="…"` of an XML declaration at the start (after an optional UTF-8 BOM). */
const declarationPattern = /^(?:\uFEFF)?<\?xml\s[^?>]*?\bencoding\s*=\s*(?:"([^"]*)"|'([^']*)')/;

/** The problem with how `xml` is encoded, or undefined when it is UTF-8 (or plain ASCII). */
export function encodingIssue(xml: Buffer): EncodingIssue | undefined {
  const utf16 = utf16Kind(xml);
  if (utf16 !== undefined)
    return { lineNumber: 0, columnNumber: 0, message: `${utf16}. ${utf8Only}.` };

  // The declaration is ASCII in every encoding this can still be; latin1 keeps bytes as they are.
  const declared = declarationPattern.exec(xml.subarray(0, 256).toString('latin1'));
  const name = declared === null ? undefined : (declared[1] ?? declared[2] ?? '').trim();
  const upper = name?.toUpperCase();

  if (upper === undefined || utf8Names.has(upper)) {
    if (isUtf8(xml)) return undefined;
    return at(
      xml,
      firstInvalidUtf8(xml),
      `The body is not valid UTF-8${name === undefined ? '' : ` although its XML declaration says encoding="${name}"`}. ${utf8Only}.`,
    );
  }
  if (asciiCompatibleNames.has(upper)) {
    const nonAscii = xml.findIndex((byte) => byte > 0x7f);
    if (nonAscii === -1) return undefined;
    return at(
      xml,
      nonAscii,
      `The XML declaration says encoding="${name}" and the body has a character outside ASCII, ` +
        `which HMRC would store garbled (it reads every body as UTF-8). ${utf8Only} and declare encoding="UTF-8".`,
    );
  }
  return {
    lineNumber: 1,
    columnNumber: 1,
    message: `The XML declaration says encoding="${name}". ${utf8Only} and declare encoding="UTF-8".`,
  };
}

function utf16Kind(xml: Buffer): string | undefined {
  const [b0, b1, b2, b3] = [xml[0], xml[1], xml[2], xml[3]];
  if (b0 === 0x00 && b1 === 0x00 && b2 === 0xfe && b3 === 0xff)
    return 'The body is UTF-32 (it starts with a UTF-32 byte order mark)';
  if (b0 === 0xff && b1 === 0xfe && b2 === 0x00 && b3 === 0x00)
    return 'The body is UTF-32 (it starts with a UTF-32 byte order mark)';
  if ((b0 === 0xfe && b1 === 0xff) || (b0 === 0xff && b1 === 0xfe))
    return 'The body is UTF-16 (it starts with a UTF-16 byte order mark)';
  // '<' or whitespace next to a NUL byte: UTF-16 (or UTF-32) without a byte order mark.
  const ascii = (byte: number | undefined) => byte === 0x3c || byte === 0x20 || byte === 0x0a;
  if ((ascii(b0) && b1 === 0x00) || (b0 === 0x00 && ascii(b1)))
    return 'The body looks like UTF-16 (NUL bytes between its characters, no byte order mark)';
  return undefined;
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence (RFC 3629). */
function firstInvalidUtf8(bytes: Buffer): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index]!;
    if (lead < 0x80) {
      index += 1;
      continue;
    }
    const length =
      lead >= 0xc2 && lead <= 0xdf
        ? 2
        : lead >= 0xe0 && lead <= 0xef
          ? 3
          : lead >= 0xf0 && lead <= 0xf4
            ? 4
            : 0;
    if (length === 0 || index + length > bytes.length) return index;
    const second = bytes[index + 1]!;
    // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    if (second < low || second > high) return index;
    for (let next = 2; next < length; next += 1) {
      if ((bytes[index + next]! & 0xc0) !== 0x80) return index;
    }
    index += length;
  }
  return bytes.length;
}

/** An issue at a byte offset, located as line and column (1-based) the way editors count. */
function at(xml: Buffer, offset: number, message: string): EncodingIssue {
  let line = 1;
  let lineStart = 0;
  for (
    let index = xml.indexOf(0x0a);
    index !== -1 && index < offset;
    index = xml.indexOf(0x0a, index + 1)
  ) {
    line += 1;
    lineStart = index + 1;
  }
  return { lineNumber: line, columnNumber: offset - lineStart + 1, message };
}
