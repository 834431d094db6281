import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { openApiDocument } from '../openapi/document.js';

/**
 * Checks an answer of the api against /openapi.json: the route is found by matching the path
 * against the document's templates, then the JSON body is validated (ajv, JSON Schema 2020-12 as
 * OpenAPI 3.1 uses) against the schema the document gives for that method and status. Tests use
 * it on what they already fetched, so the document cannot drift from what the api answers.
 */

// ajv-formats is CommonJS with a default export; under Node's ESM interop it arrives wrapped.
const addFormats = ((addFormatsImport as unknown as { default?: unknown }).default ??
  addFormatsImport) as unknown as (ajv: Ajv2020) => void;

const document = openApiDocument() as unknown as {
  paths: Record<string, Record<string, { responses?: Record<string, ResponseObject> }>>;
};
interface ResponseObject {
  content?: Record<string, { schema?: unknown }>;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(document, 'openapi.json');

const templates = Object.keys(document.paths).map((template) => ({
  template,
  pattern: new RegExp(
    `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`,
  ),
  literal: template.split('/').filter((part) => !part.startsWith('{')).length,
}));

/** The document's path template for a concrete path (the most literal match wins). */
export function templateOf(path: string): string | undefined {
  return templates
    .filter((candidate) => candidate.pattern.test(path))
    .sort((a, b) => b.literal - a.literal)[0]?.template;
}

const pointer = (...parts: string[]) =>
  parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

const compiled = new Map<string, ValidateFunction>();

/**
 * What is wrong with `body` as the answer `status` to `method url`: [] when it matches, else
 * one line per problem (no such route or status in the document included).
 */
export function responseProblems(
  method: string,
  url: string,
  status: number,
  body: unknown,
): string[] {
  const path = new URL(url, 'http://localhost').pathname;
  const template = templateOf(path);
  if (template === undefined) return [`${path} is not in the document`];
  const operation = document.paths[template]?.[method.toLowerCase()];
  if (operation === undefined) return [`${method} ${template} is not in the document`];
  const response = operation.responses?.[String(status)];
  if (response === undefined) return [`${method} ${template} does not list status ${status}`];
  if (response.content?.['application/json']?.schema === undefined)
    return [`${method} ${template} ${status} has no JSON schema`];
  const ref = `openapi.json#/${pointer('paths', template, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema')}`;
  let validate = compiled.get(ref);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: ref });
    compiled.set(ref, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (error) =>
      `${method} ${template} ${status}: ${error.instancePath || '(body)'} ${error.message}`,
  );
}

/** Reads a fetch Response's JSON and checks it; throws listing the problems. */
export async function documentedJson(method: string, response: Response): Promise<any> {
  const body = (await response.json()) as unknown;
  const problems = responseProblems(method, response.url, response.status, body);
  if (problems.length > 0)
    throw new Error(`The answer does not match /openapi.json:\n${problems.join('\n')}`);
  return body;
}
