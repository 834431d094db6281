import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import type { ComplexShape, SchemaShapes } from './shape-types.js';

export type { ChildShape, ComplexShape, SchemaShapes } from './shape-types.js';

/**
 * What HMRC's transit-movements-converter needs to know about an NCTS schema to turn a message
 * into JSON, read from the XSDs we vendor (packages/ncts/xsd): for each complex type, its child
 * elements in sequence order with whether they repeat (maxOccurs > 1 → JSON array) and whether
 * their content is a number (a simple type derived from xs:decimal or xs:integer without an
 * enumeration → JSON number; HMRC's scalaxb models make such values BigDecimal/BigInt and enums
 * strings). Generated into shapes.<phase>.ts by `pnpm --filter @ctc-hub/ncts gen:json-shapes`
 * so bundles carry no XSD parser; json-shapes.test.ts checks the files are current.
 */

type Node = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: false,
  parseAttributeValue: false,
  parseTagValue: false,
});

const tagOf = (node: Node): string | undefined => Object.keys(node).find((key) => key !== ':@');
const attrsOf = (node: Node): Record<string, string> =>
  (node[':@'] ?? {}) as Record<string, string>;
const childrenOf = (node: Node): Node[] => {
  const tag = tagOf(node);
  return tag === undefined ? [] : ((node[tag] as Node[] | undefined) ?? []);
};
const local = (name: string) => (name.includes(':') ? name.slice(name.indexOf(':') + 1) : name);

const numericBuiltins = new Set([
  'decimal',
  'integer',
  'int',
  'long',
  'short',
  'byte',
  'nonNegativeInteger',
  'positiveInteger',
  'nonPositiveInteger',
  'negativeInteger',
  'unsignedInt',
  'unsignedLong',
  'unsignedShort',
  'unsignedByte',
]);

export function readSchemaShapes(dir: string): SchemaShapes {
  const files = [
    ...readdirSync(dir).filter((file) => file.endsWith('.xsd')),
    ...readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((entry) =>
        readdirSync(join(dir, entry.name))
          .filter((file) => file.endsWith('.xsd'))
          .map((file) => join(entry.name, file)),
      ),
  ].sort();

  const complexTypes = new Map<string, Node>();
  const simpleTypes = new Map<string, Node>();
  const groups = new Map<string, Node>();
  const rootElements = new Map<string, string>();
  let anonymous = 0;
  const anonymousTypes = new Map<Node, string>();

  for (const file of files) {
    const document = parser.parse(readFileSync(join(dir, file), 'utf8')) as Node[];
    const schema = document.find((node) => tagOf(node) === 'xs:schema');
    if (schema === undefined) continue;
    for (const node of childrenOf(schema)) {
      const tag = tagOf(node);
      const name = attrsOf(node).name;
      if (name === undefined) continue;
      if (tag === 'xs:complexType') complexTypes.set(name, node);
      else if (tag === 'xs:simpleType') simpleTypes.set(name, node);
      else if (tag === 'xs:group') groups.set(name, node);
      else if (tag === 'xs:element' && /^CC\d{3}C$/.test(name)) {
        const type = attrsOf(node).type;
        if (type !== undefined) rootElements.set(name, local(type));
      }
    }
  }

  const numericCache = new Map<string, boolean>();
  /** Whether a named simple type's values are numbers in HMRC's JSON. */
  function simpleIsNumeric(name: string): boolean {
    const cached = numericCache.get(name);
    if (cached !== undefined) return cached;
    let result = false;
    const node = simpleTypes.get(name);
    if (node === undefined) result = numericBuiltins.has(name);
    else result = simpleNodeIsNumeric(node);
    numericCache.set(name, result);
    return result;
  }
  function simpleNodeIsNumeric(node: Node): boolean {
    const restriction = childrenOf(node).find((child) => tagOf(child) === 'xs:restriction');
    if (restriction === undefined) return false;
    if (childrenOf(restriction).some((child) => tagOf(child) === 'xs:enumeration')) return false;
    const base = attrsOf(restriction).base;
    if (base === undefined) return false;
    return simpleIsNumeric(local(base));
  }

  const types: Record<string, ComplexShape> = {};

  function contentOf(element: Node): string {
    const type = attrsOf(element).type;
    if (type !== undefined) {
      const name = local(type);
      if (complexTypes.has(name)) {
        shapeOf(name);
        return name;
      }
      return simpleIsNumeric(name) ? 'n' : 's';
    }
    const inline = childrenOf(element).find((child) => tagOf(child) === 'xs:complexType');
    if (inline !== undefined) {
      let name = anonymousTypes.get(inline);
      if (name === undefined) {
        anonymous += 1;
        name = `~${attrsOf(element).name ?? 'anonymous'}${anonymous}`;
        anonymousTypes.set(inline, name);
        complexTypes.set(name, inline);
      }
      shapeOf(name);
      return name;
    }
    const simple = childrenOf(element).find((child) => tagOf(child) === 'xs:simpleType');
    return simple !== undefined && simpleNodeIsNumeric(simple) ? 'n' : 's';
  }

  function collect(node: Node, shape: ComplexShape): void {
    for (const child of childrenOf(node)) {
      const tag = tagOf(child);
      const attrs = attrsOf(child);
      if (tag === 'xs:sequence' || tag === 'xs:choice' || tag === 'xs:all') collect(child, shape);
      else if (tag === 'xs:group' && attrs.ref !== undefined) {
        const group = groups.get(local(attrs.ref));
        if (group !== undefined) collect(group, shape);
      } else if (tag === 'xs:element' && attrs.name !== undefined) {
        const max = attrs.maxOccurs ?? '1';
        shape.c.push([
          attrs.name,
          contentOf(child),
          max === 'unbounded' || Number(max) > 1 ? 1 : 0,
        ]);
      } else if (tag === 'xs:attribute' && attrs.name !== undefined) shape.a.push(attrs.name);
      else if (tag === 'xs:complexContent' || tag === 'xs:simpleContent') collect(child, shape);
      else if (tag === 'xs:extension' || tag === 'xs:restriction') {
        if (attrs.base !== undefined && complexTypes.has(local(attrs.base))) {
          const base = shapeOf(local(attrs.base));
          shape.c.push(...base.c);
          shape.a.push(...base.a);
        }
        collect(child, shape);
      }
    }
  }

  function shapeOf(name: string): ComplexShape {
    const existing = types[name];
    if (existing !== undefined) return existing;
    const shape: ComplexShape = { c: [], a: [] };
    types[name] = shape;
    const node = complexTypes.get(name);
    if (node !== undefined) collect(node, shape);
    return shape;
  }

  const roots: Record<string, string> = {};
  for (const [root, type] of [...rootElements].sort(([a], [b]) => a.localeCompare(b))) {
    roots[root] = type;
    shapeOf(type);
  }
  const sorted: Record<string, ComplexShape> = {};
  for (const name of Object.keys(types).sort()) sorted[name] = types[name]!;
  return { roots, types: sorted };
}

/** The generated module's text (one line of JSON in a typed export; prettier ignores it). */
export function shapesModule(phase: string, shapes: SchemaShapes): string {
  return [
    '// Generated by scripts/gen-json-shapes.ts from the vendored XSDs; do not edit.',
    "import type { SchemaShapes } from './shape-types.js';",
    '',
    `export const ${phase}: SchemaShapes = ${JSON.stringify(shapes)};`,
    '',
  ].join('\n');
}
