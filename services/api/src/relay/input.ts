import { badRequest } from '../http/errors.js';
import { eoriPattern, isUuid } from '../http/params.js';

/** What an operator sends to configure a relay consumer, checked field by field. */
export interface ConsumerInput {
  name?: string;
  boxId?: string;
  callbackUrl?: string | null;
  secret?: string;
  /** null: every EORI. */
  eoris?: string[] | null;
  enabled?: boolean;
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const known = new Set(['name', 'boxId', 'callbackUrl', 'secret', 'eoris', 'enabled']);

function text(value: unknown, name: string, min: number, max: number): string {
  if (typeof value !== 'string') throw badRequest(`${name} must be a string`);
  if (value.includes('\0') || loneSurrogate.test(value))
    throw badRequest(`${name} holds a NUL or an unpaired surrogate`);
  if (value.length < min || value.length > max)
    throw badRequest(`${name} must be ${min} to ${max} characters`);
  return value;
}

function callbackUrl(value: unknown, allowHttp: boolean): string | null {
  if (value === null) return null;
  const url = text(value, 'callbackUrl', 8, 2048);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest('callbackUrl must be an absolute http or https URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw badRequest('callbackUrl must be an absolute http or https URL');
  if (parsed.protocol === 'http:' && !allowHttp)
    throw badRequest(
      'callbackUrl must be https, as at PPNS (RELAY_CALLBACK_ALLOW_HTTP allows http)',
    );
  if (parsed.hash !== '') throw badRequest('callbackUrl must not have a fragment');
  return url;
}

function eoris(value: unknown): string[] | null {
  if (value === '*') return null;
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000)
    throw badRequest('eoris must be "*" (every EORI) or a list of 1 to 1000 EORIs');
  const list = value.map((entry) => {
    const eori = text(entry, 'eoris', 3, 17).trim().toUpperCase();
    if (!eoriPattern.test(eori)) throw badRequest(`eoris: ${eori} is not an EORI`);
    return eori;
  });
  return [...new Set(list)].sort();
}

/** Parses a create (`creating`) or change body; 400 naming the first field that is wrong. */
export function parseConsumerInput(
  body: unknown,
  creating: boolean,
  options: { allowHttp: boolean },
): ConsumerInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('the body must be a JSON object');
  const record = body as Record<string, unknown>;
  const unknownField = Object.keys(record).find((key) => !known.has(key));
  if (unknownField !== undefined)
    throw badRequest(`${unknownField.slice(0, 50)} is not a field of a relay consumer`);
  const input: ConsumerInput = {};
  if (record.name !== undefined) input.name = text(record.name, 'name', 1, 100).trim();
  else if (creating) throw badRequest('name is required');
  if (record.boxId !== undefined) {
    if (!creating) throw badRequest('boxId cannot be changed: the consumer knows its box by it');
    const boxId = text(record.boxId, 'boxId', 36, 36);
    if (!isUuid(boxId)) throw badRequest('boxId must be a UUID');
    input.boxId = boxId.toLowerCase();
  }
  if (record.callbackUrl !== undefined)
    input.callbackUrl = callbackUrl(record.callbackUrl, options.allowHttp);
  if (record.secret !== undefined) input.secret = text(record.secret, 'secret', 16, 256);
  if (record.eoris !== undefined) input.eoris = eoris(record.eoris);
  else if (creating)
    throw badRequest('eoris is required: "*" (every EORI) or the EORIs the consumer may see');
  if (record.enabled !== undefined) {
    if (typeof record.enabled !== 'boolean') throw badRequest('enabled must be true or false');
    input.enabled = record.enabled;
  }
  if (creating && input.callbackUrl && input.secret === undefined)
    throw badRequest('secret is required with a callbackUrl: pushes are signed with it');
  return input;
}
