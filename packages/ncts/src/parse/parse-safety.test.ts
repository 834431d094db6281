import { readFileSync } from 'node:fs';
import { fixturePath } from '@ctc-hub/testing';
import type { ParseErrorCode } from '../types.js';
import { parseNctsMessage } from './parse.js';

// Hostile and broken input: every case must end in a clear error code (or a flagged summary),
// quickly, without expanding entities, reading files or exhausting the stack.

const declaration = readFileSync(fixturePath('ncts/examples/phase5/cc015c-valid.xml'), 'utf8');

function errorOf(xml: string | Buffer, options = {}): { code: ParseErrorCode; message: string } {
  const result = parseNctsMessage(xml, options);
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.summary)}`);
  return result.error;
}

describe('parseNctsMessage refuses unsafe documents', () => {
  it('refuses a DOCTYPE', () => {
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE CC015C>\n${declaration}`;
    expect(errorOf(xml)).toEqual({
      code: 'DOCTYPE_FORBIDDEN',
      message: 'DOCTYPE and entity declarations are not accepted (line 2, column 1)',
    });
  });

  it('refuses an external entity (XXE) before anything reads the file', () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
      <ncts:CC015C xmlns:ncts="http://ncts.dgtaxud.ec"><TransitOperation><LRN>&xxe;</LRN></TransitOperation></ncts:CC015C>`;
    const error = errorOf(xml);
    expect(error.code).toBe('DOCTYPE_FORBIDDEN');
    expect(error.message).not.toContain('root:');
  });

  it('refuses billion laughs', () => {
    const entities = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
    ).join('');
    const xml = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${entities}]><lolz>&lol9;</lolz>`;
    expect(errorOf(xml).code).toBe('DOCTYPE_FORBIDDEN');
  });

  it('refuses a lower-case doctype and bare entity declarations alike', () => {
    expect(errorOf('<!doctype html><html/>').code).toBe('DOCTYPE_FORBIDDEN');
    expect(errorOf('<a><!ENTITY x "y"></a>').code).toBe('DOCTYPE_FORBIDDEN');
  });

  it('accepts "<!DOCTYPE" inside a comment or CDATA, where it is only text', () => {
    const xml = declaration.replace(
      '<TransitOperation>',
      '<!-- <!DOCTYPE x> --><TransitOperation><![CDATA[<!DOCTYPE y>]]>',
    );
    expect(parseNctsMessage(xml).ok).toBe(true);
  });

  it('refuses references to entities nobody declared', () => {
    const xml = declaration.replace('DHbrfgDQJRm', '&xxe;');
    expect(errorOf(xml)).toEqual({
      code: 'NOT_WELL_FORMED',
      message: 'Undefined or malformed entity reference (line 8, column 14)',
    });
    expect(errorOf('<a x="&nope;"/>').code).toBe('NOT_WELL_FORMED');
    expect(errorOf('<a>fish & chips</a>').code).toBe('NOT_WELL_FORMED');
  });

  it('refuses characters XML forbids, raw or as references, before they reach a summary', () => {
    // PostgreSQL's jsonb refuses \u0000 and lone surrogates: such a summary would fail its batch.
    for (const [text, message] of [
      ['ab\u0000cd', 'Character U+0000 is not allowed in XML (line 8, column 16)'],
      ['ab\u0001cd', 'Character U+0001 is not allowed in XML (line 8, column 16)'],
      ['ab\uFFFEcd', 'Character U+FFFE is not allowed in XML (line 8, column 16)'],
      ['ab\uD800cd', 'Character U+D800 is not allowed in XML (line 8, column 16)'],
      ['ab&#0;cd', 'Character reference to a character not allowed in XML (line 8, column 16)'],
      ['ab&#x1;cd', 'Character reference to a character not allowed in XML (line 8, column 16)'],
      ['&#xD800;', 'Character reference to a character not allowed in XML (line 8, column 14)'],
      ['&#x110000;', 'Character reference to a character not allowed in XML (line 8, column 14)'],
    ]) {
      const xml = declaration.replace('DHbrfgDQJRm', text!);
      expect(errorOf(xml)).toEqual({ code: 'NOT_WELL_FORMED', message });
    }
    expect(errorOf('<a x="&#0;"/>').code).toBe('NOT_WELL_FORMED');
    // Tab, line feed, carriage return and astral characters are fine, raw or as references.
    const allowed = declaration.replace('DHbrfgDQJRm', 'a\tb&#9;&#xA;&#13;\u{1F600}&#x1F600;');
    expect(parseNctsMessage(allowed).ok).toBe(true);
  });

  it('refuses 10,000 levels of nesting quickly', () => {
    const xml = '<a>'.repeat(10_000) + '</a>'.repeat(10_000);
    const started = performance.now();
    expect(errorOf(xml)).toEqual({
      code: 'TOO_DEEP',
      message: 'Elements nested deeper than 64 levels (line 1, column 193)',
    });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('applies maxDepth exactly', () => {
    const nested = (depth: number) => '<a>'.repeat(depth) + '</a>'.repeat(depth);
    expect(parseNctsMessage(nested(10), { maxDepth: 10 }).ok).toBe(true);
    expect(errorOf(nested(11), { maxDepth: 10 }).code).toBe('TOO_DEEP');
    expect(parseNctsMessage(nested(64)).ok).toBe(true);
  });

  it('refuses a huge attribute without scanning it character by character', () => {
    const xml = `<ncts:CC015C xmlns:ncts="http://ncts.dgtaxud.ec" PhaseID="${'5'.repeat(5_000_000)}"/>`;
    const started = performance.now();
    expect(errorOf(xml)).toEqual({
      code: 'TOO_LARGE',
      message: 'Attribute value longer than 65536 characters (line 1, column 58)',
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('accepts a large text value, which is legal if odd', () => {
    const xml = declaration.replace('DHbrfgDQJRm', 'L'.repeat(2_000_000));
    const result = parseNctsMessage(xml);
    expect(result.ok && result.summary.lrn?.length).toBe(2_000_000);
  });

  it('applies maxBytes to bytes, before decoding', () => {
    const bytes = Buffer.from(declaration);
    expect(errorOf(bytes, { maxBytes: bytes.length - 1 })).toEqual({
      code: 'TOO_LARGE',
      message: `Document of ${bytes.length} bytes is larger than ${bytes.length - 1} bytes`,
    });
    expect(parseNctsMessage(bytes, { maxBytes: bytes.length }).ok).toBe(true);
  });

  it('applies maxBytes to the UTF-8 size of a string', () => {
    const xml = `<a>${'€'.repeat(100)}</a>`; // 307 UTF-8 bytes, 107 UTF-16 units
    expect(errorOf(xml, { maxBytes: 306 }).code).toBe('TOO_LARGE');
    expect(parseNctsMessage(xml, { maxBytes: 307 }).ok).toBe(true);
  });
});

describe('parseNctsMessage refuses broken documents', () => {
  it.each([
    ['', 'EMPTY'],
    [Buffer.alloc(0), 'EMPTY'],
    [' \r\n\t ', 'EMPTY'],
    [Buffer.from([0xef, 0xbb, 0xbf]), 'EMPTY'],
    ['{"messageType":"IE015"}', 'NOT_NCTS'],
    ['IE015', 'NOT_NCTS'],
    ['<!-- only a comment -->', 'NOT_NCTS'],
    ['<?xml version="1.0"?>', 'NOT_NCTS'],
  ] as const)('%j → %s', (xml, code) => {
    expect(errorOf(xml).code).toBe(code);
  });

  it('reports where a truncated document ends', () => {
    const truncated = declaration.slice(0, declaration.indexOf('</TransitOperation>'));
    const error = errorOf(truncated);
    expect(error.code).toBe('NOT_WELL_FORMED');
    expect(error.message).toMatch(
      /^Document ends inside <TransitOperation> \(line 14, column \d+\)$/,
    );
  });

  it.each([
    ['<a><b></a></b>', 'End tag </a> does not match <b> (line 1, column 7)'],
    ['<a/><b/>', 'More than one root element (line 1, column 5)'],
    ['<a/>trailing', 'Text after the root element (line 1, column 5)'],
    ['<?xml version="1.0"?>junk<a/>', 'Text before the root element (line 1, column 22)'],
    ['<a x="<"/>', "'<' in an attribute value (line 1, column 7)"],
    ['<a><!-- open', 'Unterminated comment (line 1, column 4)'],
    ['<a><![CDATA[ open', 'Unterminated CDATA section (line 1, column 4)'],
    ['<![CDATA[x]]><a/>', 'CDATA section outside the root element (line 1, column 1)'],
    ['<a/>\n<?xml version="1.0"?>', 'XML declaration not at the start (line 2, column 1)'],
    ['</a>', 'End tag </a> without a start tag (line 1, column 1)'],
    ['<a><b', 'Unterminated start tag <b> (line 1, column 4)'],
  ])('%j is not well-formed: %s', (xml, message) => {
    expect(errorOf(xml)).toEqual({ code: 'NOT_WELL_FORMED', message });
  });

  it('reports lexical errors with line and column from the validator', () => {
    expect(errorOf('<a>\n  <b x=1/>\n</a>')).toEqual({
      code: 'NOT_WELL_FORMED',
      message: "Attribute 'x' is without value. (line 2, column 6)",
    });
    expect(errorOf('<a x="1" x="2"/>').code).toBe('NOT_WELL_FORMED');
  });

  it('refuses UTF-16', () => {
    expect(errorOf(Buffer.from('\ufeff<a/>', 'utf16le'))).toEqual({
      code: 'NOT_WELL_FORMED',
      message: 'UTF-16 documents are not accepted; NCTS messages are UTF-8',
    });
  });
});

describe('parseNctsMessage keeps odd but well-formed messages', () => {
  it('parses an unknown NCTS root with knownType false so it can be stored and flagged', () => {
    const xml = declaration.replaceAll('CC015C', 'CC999C');
    const result = parseNctsMessage(xml);
    expect(result).toMatchObject({
      ok: true,
      summary: {
        rootElement: 'CC999C',
        messageType: null,
        knownType: false,
        phase: 'NCTS5.0',
        lrn: 'DHbrfgDQJRm',
        warnings: ['Unknown root element CC999C; stored without a message type'],
      },
    });
  });

  it('parses a random root element the same way', () => {
    expect(parseNctsMessage('<html><body>hello</body></html>')).toMatchObject({
      ok: true,
      summary: { rootElement: 'html', messageType: null, knownType: false, phase: null },
    });
  });

  it('skips a UTF-8 byte order mark, in bytes or in a string', () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(declaration)]);
    expect(parseNctsMessage(withBom)).toMatchObject({ ok: true, summary: { lrn: 'DHbrfgDQJRm' } });
    expect(parseNctsMessage(`\ufeff${declaration}`)).toMatchObject({
      ok: true,
      summary: { lrn: 'DHbrfgDQJRm' },
    });
  });

  it('accepts leading whitespace before the root', () => {
    expect(parseNctsMessage(`\n  ${declaration}`).ok).toBe(true);
  });
});
