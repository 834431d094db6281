import { jsonPhaseForApiVersion, nctsXmlToHmrcJson } from '@ctc-hub/ncts';
import { escapeXml } from './escape.js';

/**
 * The XML ⇄ JSON mapping of HMRC's transit-movements-converter. XML → JSON is the converter
 * ctc-hub's api uses too (@ctc-hub/ncts: one root key `n1:CC015C`, `@PhaseID`, numbers where
 * the NCTS XSD types are numeric, repeating elements always arrays), with the schema set of the
 * API version the client asked for.
 */
export function xmlToJson(xml: string, apiVersion: '2.1' | '3.0' = '2.1'): Record<string, unknown> {
  return nctsXmlToHmrcJson(xml, jsonPhaseForApiVersion(apiVersion)) ?? {};
}

const namePattern = /^[A-Za-z_][\w.-]*$/;

/** JSON submission → XML text; undefined when the JSON does not have the converter's shape. */
export function jsonToXml(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const rootKey = keys[0]!;
  const localName = rootKey.includes(':') ? rootKey.slice(rootKey.indexOf(':') + 1) : rootKey;
  const content = (value as Record<string, unknown>)[rootKey];
  if (
    !namePattern.test(localName) ||
    typeof content !== 'object' ||
    content === null ||
    Array.isArray(content)
  ) {
    return undefined;
  }
  const parts: string[] = [];
  const attributes = Object.entries(content)
    .filter(([key]) => key.startsWith('@'))
    .map(([key, attribute]) => ` ${key.slice(1)}="${escapeXml(String(attribute))}"`)
    .join('');
  parts.push(`<ncts:${localName}${attributes} xmlns:ncts="http://ncts.dgtaxud.ec">`);
  if (!writeChildren(parts, content as Record<string, unknown>)) return undefined;
  parts.push(`</ncts:${localName}>`);
  return parts.join('');
}

function writeChildren(parts: string[], content: Record<string, unknown>): boolean {
  for (const [key, child] of Object.entries(content)) {
    if (key.startsWith('@')) continue;
    if (!namePattern.test(key)) return false;
    for (const item of Array.isArray(child) ? child : [child]) {
      if (item === null || item === undefined) continue;
      if (typeof item === 'object') {
        parts.push(`<${key}>`);
        if (!writeChildren(parts, item as Record<string, unknown>)) return false;
        parts.push(`</${key}>`);
      } else {
        parts.push(`<${key}>${escapeXml(String(item))}</${key}>`);
      }
    }
  }
  return true;
}
