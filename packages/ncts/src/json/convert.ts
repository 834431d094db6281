import { XMLParser } from 'fast-xml-parser';
import type { ChildShape, ComplexShape, SchemaShapes } from './shape-types.js';
import { phase5 } from './shapes.phase5.js';
import { phase6 } from './shapes.phase6.js';

/**
 * NCTS XML → JSON as HMRC's transit-movements-converter writes it (what a client gets from
 * `Accept: application/vnd.hmrc.2.1+json` / `3.0+json` on a message): one root key `n1:CC015C`;
 * child elements in the schema's sequence order; elements that may repeat (maxOccurs > 1) always
 * arrays, `[]` when absent (the converter's Play formats write empty sequences); optional single
 * elements left out when absent; values of simple types derived from xs:decimal / xs:integer as
 * JSON numbers (written with the XML's digits, so no precision is lost), everything else
 * (codes, flags, dates, enumerations) as strings; attributes (`@PhaseID`) after the elements.
 * Elements the schema does not know (a message HMRC's converter would refuse) are kept, as
 * strings or objects, after the known ones rather than dropped.
 */

export type SchemaPhase = 'phase5' | 'phase6';

const shapesByPhase: Record<SchemaPhase, SchemaShapes> = {
  phase5,
  phase6,
};

/** The schema set HMRC's converter uses for an API version: 2.x → phase 5, 3.x → phase 6. */
export const jsonPhaseForApiVersion = (apiVersion: string): SchemaPhase =>
  apiVersion.startsWith('3.') ? 'phase6' : 'phase5';

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  textNodeName: '#text',
  isArray: (_name, _path, _isLeaf, isAttribute) => !isAttribute,
});

/** A JSON number with the XML's digits, or undefined when the text is not a number. */
function numberText(text: string): string | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction] = match;
  if (whole === '' && (fraction === undefined || fraction === '')) return undefined;
  const integer = whole.replace(/^0+(?=\d)/, '') || '0';
  const digits = fraction === undefined || fraction === '' ? integer : `${integer}.${fraction}`;
  return `${sign === '-' ? '-' : ''}${digits}`;
}

const textOf = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const text = (value as XmlNode)['#text'];
    return typeof text === 'string' ? text : '';
  }
  return '';
};

function writeSimple(value: unknown, numeric: boolean): string {
  const text = textOf(value);
  if (numeric) {
    const number = numberText(text);
    if (number !== undefined) return number;
  }
  return JSON.stringify(text);
}

function writeUnknown(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(textOf(value));
  const entries = Object.entries(value as XmlNode).filter(([key]) => key !== '#text');
  if (entries.length === 0) return JSON.stringify(textOf(value));
  const parts = entries.map(([key, child]) => {
    const items = Array.isArray(child) ? child : [child];
    const written =
      items.length === 1 ? writeUnknown(items[0]) : `[${items.map(writeUnknown).join(',')}]`;
    return `${JSON.stringify(key)}:${written}`;
  });
  return `{${parts.join(',')}}`;
}

function writeComplex(node: unknown, shape: ComplexShape, shapes: SchemaShapes): string {
  const element = (typeof node === 'object' && node !== null ? node : {}) as XmlNode;
  const parts: string[] = [];
  const known = new Set<string>();
  for (const [name, content, repeats] of shape.c as ChildShape[]) {
    known.add(name);
    const occurrences = (element[name] as unknown[] | undefined) ?? [];
    const write = (value: unknown) => writeContent(value, content, shapes);
    if (repeats === 1) {
      parts.push(`${JSON.stringify(name)}:[${occurrences.map(write).join(',')}]`);
    } else if (occurrences.length > 0) {
      parts.push(`${JSON.stringify(name)}:${write(occurrences[0])}`);
    }
  }
  for (const [key, value] of Object.entries(element)) {
    if (known.has(key) || key.startsWith('@') || key === '#text') continue;
    const items = value as unknown[];
    const written =
      items.length === 1 ? writeUnknown(items[0]) : `[${items.map(writeUnknown).join(',')}]`;
    parts.push(`${JSON.stringify(key)}:${written}`);
  }
  for (const attribute of shape.a) {
    const value = element[`@${attribute}`];
    if (typeof value === 'string')
      parts.push(`${JSON.stringify(`@${attribute}`)}:${JSON.stringify(value)}`);
  }
  return `{${parts.join(',')}}`;
}

function writeContent(value: unknown, content: string, shapes: SchemaShapes): string {
  if (content === 'n' || content === 's') return writeSimple(value, content === 'n');
  const shape = shapes.types[content];
  return shape === undefined ? writeUnknown(value) : writeComplex(value, shape, shapes);
}

/**
 * The HMRC JSON text of an NCTS message; undefined when the XML has no element root. The
 * schema set is the one HMRC's converter uses for the API version asked for; a root that set
 * does not know (a phase 6-only message read as 2.1) is converted with the other set.
 */
export function nctsXmlToHmrcJsonText(xml: string, phase: SchemaPhase): string | undefined {
  const parsed = parser.parse(xml) as XmlNode;
  const rootName = Object.keys(parsed).find((key) => !key.startsWith('?') && !key.startsWith('#'));
  if (rootName === undefined) return undefined;
  const root = (parsed[rootName] as unknown[])[0];
  const other: SchemaPhase = phase === 'phase5' ? 'phase6' : 'phase5';
  const shapes =
    shapesByPhase[phase].roots[rootName] !== undefined
      ? shapesByPhase[phase]
      : shapesByPhase[other];
  const rootType = shapes.roots[rootName];
  const body =
    rootType === undefined
      ? writeUnknown(root)
      : writeComplex(root, shapes.types[rootType] ?? { c: [], a: [] }, shapes);
  return `{${JSON.stringify(`n1:${rootName}`)}:${body}}`;
}

/** The same as a value (for callers that embed it in a larger JSON document). */
export function nctsXmlToHmrcJson(
  xml: string,
  phase: SchemaPhase,
): Record<string, unknown> | undefined {
  const text = nctsXmlToHmrcJsonText(xml, phase);
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
}
