/**
 * One linear pass over an XML document that enforces our safety rules and captures the handful of
 * values a message summary needs, without building a tree (building one with fast-xml-parser costs
 * ~50 µs per KB; this pass costs a few).
 *
 * It checks the document's structure: one root element, properly nested and matching tags, nothing
 * but comments, processing instructions and whitespace outside the root, terminated comments, CDATA
 * sections and PIs, only predefined or numeric character references, a nesting limit and an
 * attribute-size limit. Any `<!` other than a comment or CDATA section is refused: a DOCTYPE (or an
 * ENTITY declaration) is how XXE and billion-laughs payloads arrive, and NCTS never sends one.
 * Lexical details (name characters, attribute syntax, duplicate attributes) are left to
 * fast-xml-parser's validator, which runs after this pass has accepted the document.
 *
 * No entity is ever expanded and nothing is fetched: references are only checked, and decoded in
 * captured values.
 */

export interface CapturePlan {
  /** Element paths below the root ('TransitOperation/LRN') whose text to capture; first wins. */
  readonly leaves: ReadonlySet<string>;
  /** Paths of repeating groups; each occurrence yields a record of its child elements' text. */
  readonly groups: ReadonlySet<string>;
  /** Paths whose occurrences to count. */
  readonly counters: ReadonlySet<string>;
}

export interface ScanLimits {
  /** Deepest element nesting accepted; the root element is depth 1. */
  maxDepth: number;
  /** Longest attribute value accepted, in characters. */
  maxAttributeChars: number;
}

export interface RootElement {
  /** As written, e.g. ncts:CC015C. */
  qualifiedName: string;
  /** Attribute values, references decoded, e.g. { PhaseID: 'NCTS5.0', 'xmlns:ncts': '…' }. */
  attributes: Record<string, string>;
}

export interface ScanCapture {
  root: RootElement;
  /** The XML declaration's encoding pseudo-attribute, if any. */
  declaredEncoding: string | null;
  values: Map<string, string>;
  groups: Map<string, Record<string, string>[]>;
  counts: Map<string, number>;
}

export type ScanErrorCode =
  'DOCTYPE_FORBIDDEN' | 'TOO_DEEP' | 'TOO_LARGE' | 'NOT_WELL_FORMED' | 'NOT_NCTS';

export interface ScanError {
  code: ScanErrorCode;
  /** Without the position, e.g. "More than one root element". */
  message: string;
  /** 1-based position of the problem; 0 when not tied to one place. */
  line: number;
  column: number;
}

export type ScanResult = { ok: true; capture: ScanCapture } | { ok: false; error: ScanError };

/**
 * NCTS attributes are PhaseID and namespace declarations. Anything near this size is an attack or
 * a bug, and refusing it early keeps later per-character attribute work bounded.
 */
export const MAX_ATTRIBUTE_CHARS = 64 * 1024;

type CaptureTarget = Map<string, string> | Record<string, string>;

/** Paths are only tracked this many levels below the root; NCTS summary fields sit at 1 to 3. */
const MAX_PATH_DEPTH = 3;

const LT = 0x3c; // <
const GT = 0x3e; // >
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

const HASH = 0x23; // #

/**
 * XML 1.0 Char (§2.2): tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF. In a JS string
 * the last range is a surrogate pair, so a lone surrogate is as forbidden as a control character
 * (only a string can hold one: decoding bytes replaces them).
 */
// eslint-disable-next-line no-control-regex
const forbiddenCharacter = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
/** String.prototype.isWellFormed (Node 20; ES2024, newer than our TypeScript lib). */
const isWellFormed = (text: string): boolean =>
  (text as string & { isWellFormed(): boolean }).isWellFormed();
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isXmlChar(codePoint: number): boolean {
  return (
    codePoint === 0x9 ||
    codePoint === 0xa ||
    codePoint === 0xd ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    (codePoint >= 0x10000 && codePoint <= 0x10ffff)
  );
}

const referencePattern = /&(?:lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});/y;
const attributePattern = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const encodingPattern = /\sencoding\s*=\s*["']([^"']*)["']/;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x09 || code === 0x0d;
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/** 1-based line and column of an offset; only computed when reporting an error. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

export function scanXml(xml: string, plan: CapturePlan, limits: ScanLimits): ScanResult {
  const fail = (code: ScanErrorCode, message: string, offset: number): ScanResult => {
    const { line, column } = positionOf(xml, offset);
    return { ok: false, error: { code, message, line, column } };
  };

  const length = xml.length;
  const open: string[] = [];
  const paths: string[] = [];
  const values = new Map<string, string>();
  const groups = new Map<string, Record<string, string>[]>();
  const counts = new Map<string, number>();
  let root: RootElement | null = null;
  let declaredEncoding: string | null = null;
  let rootClosed = false;

  // The element whose text is being captured: `depth` is the open-element count before it was
  // opened, so it is closed when the count drops back to that.
  const capture = { into: null as CaptureTarget | null, key: '', depth: -1, start: 0 };
  const beginCapture = (
    into: CaptureTarget,
    key: string,
    depth: number,
    gt: number,
    empty: boolean,
  ) => {
    if (empty) {
      store(into, key, '');
    } else {
      capture.into = into;
      capture.key = key;
      capture.depth = depth;
      capture.start = gt + 1;
    }
  };
  let group: Record<string, string> | null = null;
  let groupDepth = -1;

  // Characters XML forbids are refused before anything else: a NUL or a control character is no
  // more NCTS than a DOCTYPE is, and would otherwise reach the summary and the database.
  const forbidden =
    forbiddenCharacter.exec(xml) ?? (isWellFormed(xml) ? null : loneSurrogate.exec(xml));
  if (forbidden !== null) {
    const code = forbidden[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return fail('NOT_WELL_FORMED', `Character U+${code} is not allowed in XML`, forbidden.index);
  }

  let nextAmp = xml.indexOf('&');
  let referenceProblem = '';
  // Character references are legal in text and attribute values, literal in comments, CDATA
  // sections and PIs. Returns the offset of the first bad one before `limit`, or -1, with the
  // reason in referenceProblem.
  const checkReferencesBefore = (limit: number): number => {
    while (nextAmp !== -1 && nextAmp < limit) {
      referencePattern.lastIndex = nextAmp;
      if (!referencePattern.test(xml)) {
        referenceProblem = 'Undefined or malformed entity reference';
        return nextAmp;
      }
      // &#0; or &#xD800; is well-formed in shape but names a character XML does not allow.
      if (xml.charCodeAt(nextAmp + 1) === HASH) {
        const digits = xml.slice(nextAmp + 2, referencePattern.lastIndex - 1);
        const codePoint =
          digits.charCodeAt(0) === 0x78 ? parseInt(digits.slice(1), 16) : parseInt(digits, 10);
        if (!isXmlChar(codePoint)) {
          referenceProblem = 'Character reference to a character not allowed in XML';
          return nextAmp;
        }
      }
      nextAmp = xml.indexOf('&', nextAmp + 1);
    }
    return -1;
  };
  const skipReferencesBefore = (limit: number): void => {
    if (nextAmp !== -1 && nextAmp < limit) nextAmp = xml.indexOf('&', limit);
  };

  let i = 0;
  while (i < length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt === -1 ? length : lt;
    if (open.length === 0 && textEnd > i && !isBlank(xml, i, textEnd)) {
      return fail(
        'NOT_WELL_FORMED',
        root ? 'Text after the root element' : 'Text before the root element',
        i,
      );
    }
    const badReference = checkReferencesBefore(textEnd);
    if (badReference !== -1) return fail('NOT_WELL_FORMED', referenceProblem, badReference);
    if (lt === -1) break;

    const next = xml.charCodeAt(lt + 1);
    if (next === SLASH) {
      const gt = xml.indexOf('>', lt + 2);
      if (gt === -1) return fail('NOT_WELL_FORMED', 'Unterminated end tag', lt);
      const name = xml.slice(lt + 2, gt).trimEnd();
      const expected = open.pop();
      if (expected === undefined)
        return fail('NOT_WELL_FORMED', `End tag </${name}> without a start tag`, lt);
      if (expected !== name) {
        return fail('NOT_WELL_FORMED', `End tag </${name}> does not match <${expected}>`, lt);
      }
      const depth = open.length;
      if (capture.into !== null && depth === capture.depth) {
        store(capture.into, capture.key, textContent(xml.slice(capture.start, lt)));
        capture.into = null;
      }
      if (group !== null && depth === groupDepth) group = null;
      if (depth === 0) rootClosed = true;
      i = gt + 1;
      continue;
    }

    if (next === BANG) {
      let end: number;
      if (xml.startsWith('<!--', lt)) {
        end = xml.indexOf('-->', lt + 4);
        if (end === -1) return fail('NOT_WELL_FORMED', 'Unterminated comment', lt);
        end += 3;
      } else if (xml.startsWith('<![CDATA[', lt)) {
        if (open.length === 0)
          return fail('NOT_WELL_FORMED', 'CDATA section outside the root element', lt);
        end = xml.indexOf(']]>', lt + 9);
        if (end === -1) return fail('NOT_WELL_FORMED', 'Unterminated CDATA section', lt);
        end += 3;
      } else {
        return fail('DOCTYPE_FORBIDDEN', 'DOCTYPE and entity declarations are not accepted', lt);
      }
      skipReferencesBefore(end);
      i = end;
      continue;
    }

    if (next === QUESTION) {
      const end = xml.indexOf('?>', lt + 2);
      if (end === -1) return fail('NOT_WELL_FORMED', 'Unterminated processing instruction', lt);
      const target = /^[^\s?]*/.exec(xml.slice(lt + 2, Math.min(end, lt + 40)))?.[0] ?? '';
      if (target.toLowerCase() === 'xml') {
        if (lt !== 0) return fail('NOT_WELL_FORMED', 'XML declaration not at the start', lt);
        declaredEncoding = encodingPattern.exec(xml.slice(lt, end))?.[1] ?? null;
      }
      skipReferencesBefore(end + 2);
      i = end + 2;
      continue;
    }

    // A start tag (or an empty-element tag).
    if (rootClosed) return fail('NOT_WELL_FORMED', 'More than one root element', lt);
    let j = lt + 1;
    while (j < length) {
      const code = xml.charCodeAt(j);
      if (isSpace(code) || code === SLASH || code === GT) break;
      j++;
    }
    const name = xml.slice(lt + 1, j);
    if (name.length === 0 || name.includes('<')) return fail('NOT_WELL_FORMED', 'Invalid tag', lt);
    const attributesStart = j;
    // The first '<' after this tag opened. A '<' outside quotes ends the scan below, so only one
    // inside an attribute value can come before the tag's end; found once per tag, not per value.
    let nextLessThan = -2;
    let gt = -1;
    while (j < length) {
      const code = xml.charCodeAt(j);
      if (code === GT) {
        gt = j;
        break;
      }
      if (code === DQUOTE || code === SQUOTE) {
        const close = xml.indexOf(code === DQUOTE ? '"' : "'", j + 1);
        if (close === -1) return fail('NOT_WELL_FORMED', 'Unterminated attribute value', j);
        if (close - j - 1 > limits.maxAttributeChars) {
          return fail(
            'TOO_LARGE',
            `Attribute value longer than ${limits.maxAttributeChars} characters`,
            j,
          );
        }
        if (nextLessThan === -2) nextLessThan = xml.indexOf('<', lt + 1);
        if (nextLessThan !== -1 && nextLessThan < close) {
          return fail('NOT_WELL_FORMED', "'<' in an attribute value", nextLessThan);
        }
        j = close + 1;
        continue;
      }
      if (code === LT) return fail('NOT_WELL_FORMED', `Unterminated start tag <${name}>`, lt);
      j++;
    }
    if (gt === -1) return fail('NOT_WELL_FORMED', `Unterminated start tag <${name}>`, lt);
    const badAttributeReference = checkReferencesBefore(gt);
    if (badAttributeReference !== -1) {
      return fail('NOT_WELL_FORMED', referenceProblem, badAttributeReference);
    }
    const empty = xml.charCodeAt(gt - 1) === SLASH;
    const parentDepth = open.length;
    if (parentDepth + 1 > limits.maxDepth) {
      return fail('TOO_DEEP', `Elements nested deeper than ${limits.maxDepth} levels`, lt);
    }

    if (parentDepth === 0) {
      root = {
        qualifiedName: name,
        attributes: parseAttributes(xml.slice(attributesStart, empty ? gt - 1 : gt)),
      };
    } else if (parentDepth <= MAX_PATH_DEPTH) {
      const path = parentDepth === 1 ? name : `${paths[parentDepth - 1]}/${name}`;
      paths[parentDepth] = path;
      if (plan.counters.has(path)) counts.set(path, (counts.get(path) ?? 0) + 1);
      if (capture.into === null) {
        if (group !== null && parentDepth === groupDepth + 1) {
          beginCapture(group, name, parentDepth, gt, empty);
        } else if (plan.leaves.has(path) && !values.has(path)) {
          beginCapture(values, path, parentDepth, gt, empty);
        }
        if (plan.groups.has(path)) {
          const record: Record<string, string> = {};
          const list = groups.get(path);
          if (list) list.push(record);
          else groups.set(path, [record]);
          if (!empty) {
            group = record;
            groupDepth = parentDepth;
          }
        }
      }
    }
    if (empty) {
      if (parentDepth === 0) rootClosed = true;
    } else {
      open.push(name);
    }
    i = gt + 1;
  }

  if (root === null)
    return {
      ok: false,
      error: { code: 'NOT_NCTS', message: 'No root element', line: 0, column: 0 },
    };
  if (open.length > 0) {
    return fail('NOT_WELL_FORMED', `Document ends inside <${open[open.length - 1]}>`, length);
  }
  return { ok: true, capture: { root, declaredEncoding, values, groups, counts } };
}

function store(into: CaptureTarget, key: string, text: string): void {
  if (into instanceof Map) into.set(key, text);
  else into[key] = text;
}

function parseAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const match of source.matchAll(attributePattern)) {
    const name = match[1];
    if (name !== undefined) attributes[name] = decodeReferences(match[2] ?? match[3] ?? '');
  }
  return attributes;
}

const predefined: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the predefined and numeric references the scan has already checked. */
export function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (reference, body: string) => {
    if (body.startsWith('#')) {
      const codePoint = body[1] === 'x' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return codePoint > 0 && codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : reference;
    }
    return predefined[body] ?? reference;
  });
}

/** Text of an element's content: comments and PIs dropped, CDATA kept verbatim, child tags dropped. */
function textContent(raw: string): string {
  if (!raw.includes('<')) return decodeReferences(raw.trim());
  let text = '';
  let i = 0;
  while (i < raw.length) {
    const lt = raw.indexOf('<', i);
    if (lt === -1) {
      text += decodeReferences(raw.slice(i));
      break;
    }
    text += decodeReferences(raw.slice(i, lt));
    if (raw.startsWith('<![CDATA[', lt)) {
      const end = raw.indexOf(']]>', lt + 9);
      text += raw.slice(lt + 9, end);
      i = end + 3;
    } else if (raw.startsWith('<!--', lt)) {
      i = raw.indexOf('-->', lt + 4) + 3;
    } else if (raw.startsWith('<?', lt)) {
      i = raw.indexOf('?>', lt + 2) + 2;
    } else {
      i = skipTag(raw, lt);
    }
  }
  return text.trim();
}

/** Offset after the tag starting at `lt`, honouring quoted attribute values. */
function skipTag(raw: string, lt: number): number {
  let j = lt + 1;
  while (j < raw.length) {
    const code = raw.charCodeAt(j);
    if (code === GT) return j + 1;
    if (code === DQUOTE || code === SQUOTE) j = raw.indexOf(code === DQUOTE ? '"' : "'", j + 1);
    j++;
  }
  return raw.length;
}
