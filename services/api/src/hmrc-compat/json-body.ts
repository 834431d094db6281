/**
 * HMRC's JSON submissions (Content-Type: application/json): the XML message written as HMRC's
 * converter writes XML as JSON (reference §3.1): one root key, `"<prefix>:CC015C"` (HMRC matches
 * the part after `:` to the root element), attributes as `"@PhaseID"`, child elements as keys in
 * document order, a repeated element as an array, text as a string or a number. HMRC converts it
 * to XML and goes on as for XML; so do we, and it is the XML that the worker sends to HMRC.
 *
 * Where we differ: HMRC first validates the JSON against its JSON schemas and reports
 * `schemaPath`s; we validate the converted XML against the NCTS XSD, so a schema error names a
 * line of the converted document. The element order is the JSON's key order, which is the
 * schema's in any message written by HMRC's converter or its examples.
 */

const namePattern = /^[A-Za-z_][\w.-]*$/;

export function jsonToXml(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const rootKey = keys[0]!;
  const root = rootKey.includes(':') ? rootKey.slice(rootKey.indexOf(':') + 1) : rootKey;
  const content = value[rootKey];
  if (!namePattern.test(root) || !isObject(content)) return undefined;
  const parts: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  const attributes: string[] = [];
  for (const [key, attribute] of Object.entries(content)) {
    if (!key.startsWith('@') || key.startsWith('@xmlns')) continue;
    const name = key.slice(1);
    if (!namePattern.test(name) || !isScalar(attribute)) return undefined;
    attributes.push(` ${name}="${escape(String(attribute))}"`);
  }
  parts.push(`<ncts:${root}${attributes.join('')} xmlns:ncts="http://ncts.dgtaxud.ec">`);
  if (!writeChildren(parts, content, 0)) return undefined;
  parts.push(`</ncts:${root}>`);
  return parts.join('');
}

const maxDepth = 64;

function writeChildren(parts: string[], content: Record<string, unknown>, depth: number): boolean {
  if (depth > maxDepth) return false;
  for (const [key, child] of Object.entries(content)) {
    if (key.startsWith('@')) continue;
    if (!namePattern.test(key)) return false;
    for (const item of Array.isArray(child) ? child : [child]) {
      if (item === null) continue;
      if (isObject(item)) {
        parts.push(`<${key}>`);
        if (!writeChildren(parts, item, depth + 1)) return false;
        parts.push(`</${key}>`);
      } else if (isScalar(item)) {
        parts.push(`<${key}>${escape(String(item))}</${key}>`);
      } else {
        return false;
      }
    }
  }
  return true;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isScalar = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
