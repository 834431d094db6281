/**
 * The encodings HMRC's CTC Traders API can read in a submitted XML body. HMRC finds the message
 * type with Pekko's XmlParsing, that is Aalto's asynchronous parser: it reads UTF-8, US-ASCII
 * and ISO-8859-1 (declared in the XML declaration), refuses any other declared encoding
 * ("Unsupported encoding …: only UTF-8 and US-ASCII support by async parser") and has no
 * byte-order-mark handling, so UTF-16 and UTF-32 fail too; any failure there is answered 400
 * BAD_REQUEST "Input was malformed" (XmlMessageParsingService, ConvertError MalformedInput).
 * transit-movements then keeps a small body as a string decoded from UTF-8
 * (MessageService.getMessageBody, `utf8String`), which is what storedBody reproduces.
 */

const readable = new Set([
  'UTF-8',
  'UTF8',
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

const declarationPattern = /^<\?xml\s[^?>]*?\bencoding\s*=\s*(?:"([^"]*)"|'([^']*)')/;

const declaredEncoding = (xml: Buffer): string | undefined => {
  const declared = declarationPattern.exec(xml.subarray(0, 256).toString('latin1'));
  return declared === null ? undefined : (declared[1] ?? declared[2] ?? '').trim().toUpperCase();
};

/** False when HMRC's first parser could not read the body's encoding (→ "Input was malformed"). */
export function hmrcCanReadEncoding(xml: Buffer): boolean {
  const [b0, b1] = [xml[0], xml[1]];
  // A UTF-16/UTF-32 byte order mark, or '<' next to a NUL byte (UTF-16 without one).
  if (b0 === 0xfe || b0 === 0xff || b0 === 0x00 || b1 === 0x00) return false;
  const declared = declaredEncoding(xml);
  return declared === undefined || readable.has(declared);
}

/**
 * The document as HMRC's parsers read it, re-encoded as UTF-8 for our validator (which reads
 * UTF-8 only): an ISO-8859-1 or US-ASCII declaration is honoured, as Xerces and Aalto do.
 */
export function asHmrcReadsIt(xml: Buffer): Buffer {
  const declared = declaredEncoding(xml);
  if (declared === undefined || declared === 'UTF-8' || declared === 'UTF8') return xml;
  const text = xml
    .toString('latin1')
    .replace(declarationPattern, (declaration) =>
      declaration.replace(/\bencoding\s*=\s*("[^"]*"|'[^']*')/, 'encoding="UTF-8"'),
    );
  return Buffer.from(text, 'utf8');
}

/** The body as HMRC keeps and serves it: decoded as UTF-8, so bytes that are not become U+FFFD. */
export function storedBody(xml: Buffer): Buffer {
  return Buffer.from(xml.toString('utf8'), 'utf8');
}
