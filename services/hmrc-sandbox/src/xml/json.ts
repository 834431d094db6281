import { XMLParser } from 'fast-xml-parser';
import { escapeXml } from './escape.js';

/**
 * The XML ⇄ JSON mapping of HMRC's transit-movements-converter, as far as clients see it:
 * one root key `n1:CC015C`, attributes as `@PhaseID`, elements as keys, repeating groups as
 * arrays (chosen from the XSDs' maxOccurs > 1), every value a string.
 */

// Elements with maxOccurs > 1 in the phase 5 message XSDs the sandbox serves.
const repeating = new Set([
  'ActiveBorderTransportMeans',
  'AdditionalInformation',
  'AdditionalReference',
  'AdditionalSupplyChainActor',
  'Authorisation',
  'ConsignmentItem',
  'CountryOfRoutingOfConsignment',
  'CustomsOfficeOfExitForTransitDeclared',
  'CustomsOfficeOfTransitDeclared',
  'DangerousGoods',
  'DepartureTransportMeans',
  'FunctionalError',
  'GoodsReference',
  'Guarantee',
  'GuaranteeReference',
  'HouseConsignment',
  'Incident',
  'InvalidGuaranteeReason',
  'Packaging',
  'PreviousDocument',
  'RequestedDocument',
  'Seal',
  'SupportingDocument',
  'TransportDocument',
  'TransportEquipment',
  'TypeOfControls',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  isArray: (name) => repeating.has(name),
});

export function xmlToJson(xml: string): Record<string, unknown> {
  const parsed = parser.parse(xml) as Record<string, unknown>;
  const rootKey = Object.keys(parsed).find((key) => !key.startsWith('?') && !key.startsWith('#'));
  if (rootKey === undefined) return {};
  const root = { ...(parsed[rootKey] as Record<string, unknown>) };
  for (const key of Object.keys(root)) if (key.startsWith('@xmlns')) delete root[key];
  const localName = rootKey.includes(':') ? rootKey.slice(rootKey.indexOf(':') + 1) : rootKey;
  return { [`n1:${localName}`]: root };
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
