import { readFileSync } from 'node:fs';
import { fixturePath } from '@ctc-hub/testing';

/** Hostile and malformed NCTS documents, built from HMRC's own examples. */

export const example = (name: string): string =>
  readFileSync(fixturePath(`ncts/examples/phase5/${name}`), 'utf8');

/** A valid IE015 (POST /v1/departures) and a valid IE029 (what NCTS pushes). */
export const ie015 = (): string => example('cc015c-valid.xml');
export const ie029 = (): string => example('cc029c-valid.xml');

const afterRootStart = (xml: string): number => xml.indexOf('>', xml.indexOf('<ncts:')) + 1;

/** Inserts `inner` as the root's first child. */
export const withChild = (xml: string, inner: string): string => {
  const at = afterRootStart(xml);
  return `${xml.slice(0, at)}${inner}${xml.slice(at)}`;
};

export const withDoctype = (xml: string, doctype: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n${doctype}\n${xml}`;

export const billionLaughs = (xml: string): string =>
  withDoctype(
    xml.replace('<messageSender>', '<messageSender>&lol9;'),
    `<!DOCTYPE ncts:CC015C [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>`,
  );

/** Classic XXE: an external entity reading a local file, used in a field. */
export const xxeFile = (xml: string): string =>
  withDoctype(
    xml.replace('<messageSender>', '<messageSender>&xxe;'),
    '<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>',
  );

/** Out-of-band XXE through a parameter entity pointing at an attacker's DTD. */
export const xxeParameter = (xml: string, url: string): string =>
  withDoctype(xml, `<!DOCTYPE foo [ <!ENTITY % remote SYSTEM "${url}"> %remote; ]>`);

/** An external DTD subset, fetched by a naive parser. */
export const externalDtd = (xml: string, url: string): string =>
  withDoctype(xml, `<!DOCTYPE ncts:CC015C SYSTEM "${url}">`);

/** An entity declared without a DOCTYPE around it. */
export const bareEntity = (xml: string): string =>
  withChild(xml, '<!ENTITY x "y"><messageSender>&x;</messageSender>');

/** `depth` nested elements inside the root. */
export const deeplyNested = (xml: string, depth: number): string =>
  withChild(xml, `${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`);

export const hugeAttribute = (xml: string, chars: number): string =>
  xml.replace('PhaseID="NCTS5.0"', `PhaseID="NCTS5.0" junk="${'A'.repeat(chars)}"`);

/** Many attributes on one element (hash-collision / quadratic duplicate checks). */
export const manyAttributes = (xml: string, count: number): string =>
  xml.replace(
    'PhaseID="NCTS5.0"',
    `PhaseID="NCTS5.0" ${Array.from({ length: count }, (_, i) => `a${i}="${i}"`).join(' ')}`,
  );

export const hugeText = (xml: string, chars: number): string =>
  xml.replace(/<messageIdentification>[^<]*</, `<messageIdentification>${'X'.repeat(chars)}<`);

export const renameRoot = (xml: string, root: string): string =>
  xml.replace(/ncts:CC\d{3}C/g, `ncts:${root}`);

export const wrongNamespace = (xml: string): string =>
  xml.replace('xmlns:ncts="http://ncts.dgtaxud.ec"', 'xmlns:ncts="http://evil.example.com/ncts"');

/** A text node with a character reference to U+0000, which XML 1.0 forbids. */
export const nulCharacterReference = (xml: string): string =>
  xml.replace(/<messageIdentification>[^<]*</, '<messageIdentification>ab&#0;cd<');

/** A raw control character (U+0001) in a text node, which XML 1.0 forbids. */
export const rawControlCharacter = (xml: string): string =>
  xml.replace(/<messageIdentification>[^<]*</, '<messageIdentification>ab\u0001cd<');
