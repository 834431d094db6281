import { readFileSync } from 'node:fs';
import { fixturePath } from './paths.js';

/**
 * Checks an answer of an HMRC-compatible route against HMRC's own OpenAPI definition of the CTC
 * Traders API (2.1 or 3.0, vendored in fixtures/hmrc-oas), so a client generated from HMRC's OAS
 * can read everything we answer.
 *
 * Strict by design: an object schema with `properties` admits no other field (HMRC's OAS leaves
 * additionalProperties open, but strict client deserialisers reject unknown fields, so an extra
 * field of ours is an error here). Where HMRC's code answers differently from its OAS, the
 * difference is applied explicitly and listed in `hmrcOasDeviations`; nothing else is relaxed.
 *
 * The schemas use a small part of JSON Schema ($ref, allOf, oneOf, type, required, properties,
 * items, enum, additionalProperties); this checks exactly that and refuses a schema with any
 * other validation keyword rather than ignoring it, so no dependency is needed.
 */

/** A CTC Traders API version, or PPNS's pull API (the relay's boxes). */
export type HmrcApiVersion = '2.1' | '3.0' | 'ppns-1.0';

/** Differences between HMRC's OAS and what HMRC's code answers, applied by the validator. */
export const hmrcOasDeviations = [
  {
    id: 'json-body-object',
    what: "With +json a single message's `body` is the XML converted to a JSON object, though the OAS types it as a string.",
    source: 'MovementsController.mergeMessageSummaryAndBody (JsonHeader)',
  },
  {
    id: 'body-as-json',
    what: 'The body route answers +json with application/json (the converted object); the OAS lists only application/xml.',
    source: 'MovementsController.formatMessageBody (JsonHeader)',
  },
  {
    id: 'get-400s',
    what: "GET routes answer 400 for a bad id, bad paging or a bad date; the OAS lists no 400. Bodies are one of HMRC's error shapes: {message, code} (controller), {message, statusCode, code} (path binder), {statusCode, message} (query binder).",
    source: 'CustomJsonErrorHandler, Bindings.scala, Binders.scala',
  },
  {
    id: 'nullable-options',
    what: 'Optional fields HMRC holds as Option are written as JSON null when empty (movementReferenceNumber, localReferenceNumber — always null on arrivals —, movementEORINumber, a message type); the OAS types them as plain strings.',
    source: 'models/responses/hateoas/*: Json.obj with Option values (Play writes None as null)',
  },
  {
    id: 'arrival-lrn-null',
    what: 'Arrivals carry localReferenceNumber: null, a field the OAS Arrival schemas do not have.',
    source: 'HateoasMovementResponse / HateoasMovementIdsResponse write it for every movement type',
  },
  {
    id: 'new-movement-message-link',
    what: 'The 202 to a new movement links the submitted message too (`_links.message`), which the OAS Links schema does not list.',
    source: 'HateoasNewMovementResponse',
  },
  {
    id: 'write-statuses',
    what: "POST routes also answer 403 FORBIDDEN (a token without the enrolment), 404 NOT_FOUND (another enrolment's movement), 409 CONFLICT (a reused LRN), 415 UNSUPPORTED_MEDIA_TYPE (Content-Type routing), 429 (the API platform's rate limit), 500 and 504 GATEWAY_TIMEOUT, none listed in the OAS. Bodies are the controller's {message, code}.",
    source:
      'AuthAction, ContentTypeRouting, ErrorCode.scala (CONFLICT, GATEWAY_TIMEOUT), PresentationError',
  },
  {
    id: 'schema-validation-errors',
    what: '400 SCHEMA_VALIDATION carries validationErrors ([{lineNumber, columnNumber, message}] for XML), which the OAS BadRequest schema does not have.',
    source: 'PresentationError.xmlSchemaErrorFormat (XmlSchemaValidationError)',
  },
] as const;

/** Statuses HMRC's code answers on its write routes beyond the OAS (deviation write-statuses). */
const writeStatuses = new Set([403, 404, 409, 415, 429, 500, 504]);

type Schema = Record<string, unknown>;
type Oas = {
  paths: Record<string, Record<string, { responses: Record<string, Schema> }>>;
  components: { schemas: Record<string, Schema> };
};

const cache = new Map<HmrcApiVersion, Oas>();
function oasOf(version: HmrcApiVersion): Oas {
  let oas = cache.get(version);
  if (oas === undefined) {
    oas = JSON.parse(
      readFileSync(
        fixturePath(
          version === 'ppns-1.0'
            ? 'hmrc-oas/ppns-1.0.oas.json'
            : `hmrc-oas/ctc-traders-${version}.oas.json`,
        ),
        'utf8',
      ),
    ) as Oas;
    cache.set(version, oas);
  }
  return oas;
}

const ignoredKeywords = new Set(['title', 'example', 'examples', 'xml', 'description', 'format']);
const handledKeywords = new Set([
  '$ref',
  'allOf',
  'oneOf',
  'type',
  'required',
  'properties',
  'items',
  'enum',
  'additionalProperties',
]);

/** Fields whose null HMRC writes (deviation nullable-options). */
const nullableFields = new Set([
  'movementReferenceNumber',
  'localReferenceNumber',
  'movementEORINumber',
  'type',
]);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function check(
  oas: Oas,
  schema: Schema,
  value: unknown,
  at: string,
  errors: string[],
  options: { bodyObject: boolean },
): void {
  for (const key of Object.keys(schema)) {
    if (!ignoredKeywords.has(key) && !handledKeywords.has(key))
      throw new Error(`HMRC OAS schema at ${at} uses ${key}, which the validator does not check`);
  }
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = oas.components.schemas[name];
    if (target === undefined) throw new Error(`unknown $ref ${schema.$ref}`);
    check(oas, target, value, at, errors, options);
  }
  if (Array.isArray(schema.allOf))
    for (const part of schema.allOf as Schema[]) check(oas, part, value, at, errors, options);
  if (Array.isArray(schema.oneOf)) {
    const matching = (schema.oneOf as Schema[]).filter((part) => {
      const partErrors: string[] = [];
      check(oas, part, value, at, partErrors, options);
      return partErrors.length === 0;
    });
    if (matching.length !== 1) errors.push(`${at}: matches ${matching.length} of oneOf`);
  }
  const type = schema.type as string | undefined;
  const actual = typeOf(value);
  if (type !== undefined) {
    const field = at.split('.').pop() ?? '';
    const ok =
      actual === type ||
      (type === 'integer' && actual === 'number' && Number.isInteger(value)) ||
      (actual === 'null' && nullableFields.has(field)) ||
      (type === 'string' && field === 'body' && options.bodyObject && actual === 'object');
    if (!ok) {
      errors.push(`${at}: ${actual} where HMRC's OAS has ${type}`);
      return;
    }
  }
  if (Array.isArray(schema.enum) && !(schema.enum as unknown[]).includes(value))
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (actual === 'object' && (schema.properties !== undefined || schema.required !== undefined)) {
    const object = value as Record<string, unknown>;
    for (const name of (schema.required as string[] | undefined) ?? [])
      if (!(name in object)) errors.push(`${at}: required ${name} is missing`);
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [name, fieldValue] of Object.entries(object)) {
      const fieldSchema = properties[name];
      if (fieldSchema === undefined) {
        // Deviation arrival-lrn-null.
        if (name === 'localReferenceNumber' && fieldValue === null) continue;
        // Deviation new-movement-message-link.
        if (
          name === 'message' &&
          at.endsWith('._links') &&
          typeof (fieldValue as { href?: unknown } | null)?.href === 'string'
        )
          continue;
        if (schema.properties !== undefined && schema.additionalProperties !== true)
          errors.push(`${at}: ${name} is not in HMRC's OAS (strict clients reject it)`);
        continue;
      }
      if (name === 'body' && options.bodyObject && typeOf(fieldValue) === 'object') continue;
      check(oas, fieldSchema, fieldValue, `${at}.${name}`, errors, options);
    }
  }
  if (actual === 'array' && schema.items !== undefined) {
    (value as unknown[]).forEach((item, index) =>
      check(oas, schema.items as Schema, item, `${at}[${index}]`, errors, options),
    );
  }
}

/** The OAS path template matching a concrete path, e.g. …/departures/{departureId}. */
function templateOf(oas: Oas, path: string): string | undefined {
  return Object.keys(oas.paths).find((template) =>
    new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
}

const hmrcErrorShapes: [string, (body: Record<string, unknown>) => boolean][] = [
  [
    'controller',
    (b) => Object.keys(b).sort().join() === 'code,message' && typeof b.message === 'string',
  ],
  [
    'path binder',
    (b) =>
      Object.keys(b).sort().join() === 'code,message,statusCode' &&
      b.code === 'BAD_REQUEST' &&
      b.statusCode === 400,
  ],
  [
    'query binder',
    (b) => Object.keys(b).sort().join() === 'message,statusCode' && b.statusCode === 400,
  ],
];

export interface HmrcAnswer {
  version: HmrcApiVersion;
  method: string;
  /** The request path without the query, e.g. /customs/transits/movements/departures. */
  path: string;
  status: number;
  contentType: string | null;
  /** The parsed JSON body, or the raw text of an XML body. */
  body: unknown;
  /** The Accept header the request sent (chooses between +json and +json-xml). */
  accept?: string;
  /** Internal: a SCHEMA_VALIDATION body whose validationErrors were checked already. */
  validationErrorsChecked?: boolean;
}

/** What is wrong with an answer by HMRC's OAS (and HMRC's code, where it differs); [] when nothing. */
export function validateHmrcResponse(answer: HmrcAnswer): string[] {
  const oas = oasOf(answer.version);
  const template = templateOf(oas, answer.path);
  if (template === undefined) return [`${answer.path} is not a path of HMRC's OAS`];
  const operation = oas.paths[template]?.[answer.method.toLowerCase()];
  if (operation === undefined) return [`${answer.method} ${template} is not in HMRC's OAS`];
  const label = `${answer.method} ${template} ${answer.status}`;
  const mediaType = (answer.contentType ?? '').split(';')[0]?.trim() ?? '';
  const json = typeof answer.body === 'object' && answer.body !== null;

  if (answer.status === 400 && operation.responses['400'] === undefined) {
    // Deviation get-400s.
    if (mediaType !== 'application/json' || !json) return [`${label}: not a JSON error body`];
    const body = answer.body as Record<string, unknown>;
    return hmrcErrorShapes.some(([, fits]) => fits(body))
      ? []
      : [`${label}: ${JSON.stringify(body)} is none of HMRC's error shapes`];
  }
  const write = answer.method === 'POST' || answer.method === 'PUT';
  if (write && operation.responses[String(answer.status)] === undefined) {
    if (!writeStatuses.has(answer.status)) return [`${label}: status not in HMRC's OAS`];
    // Deviation write-statuses.
    const body = (json ? answer.body : {}) as Record<string, unknown>;
    return mediaType === 'application/json' && hmrcErrorShapes[0]![1](body)
      ? []
      : [`${label}: ${JSON.stringify(answer.body)} is not HMRC's {message, code}`];
  }
  if (
    answer.status === 400 &&
    json &&
    answer.validationErrorsChecked !== true &&
    (answer.body as Record<string, unknown>).code === 'SCHEMA_VALIDATION'
  ) {
    // Deviation schema-validation-errors: checked here, the rest by the OAS below.
    const { validationErrors, ...rest } = answer.body as Record<string, unknown>;
    const entries = Array.isArray(validationErrors) ? (validationErrors as unknown[]) : undefined;
    const fits = (entry: unknown) =>
      typeof entry === 'object' &&
      entry !== null &&
      Object.keys(entry).sort().join() === 'columnNumber,lineNumber,message';
    if (entries === undefined || entries.length === 0 || !entries.every(fits))
      return [`${label}: validationErrors is not HMRC's [{lineNumber, columnNumber, message}]`];
    return validateHmrcResponse({ ...answer, body: rest, validationErrorsChecked: true });
  }
  const response = operation.responses[String(answer.status)];
  if (response === undefined) return [`${label}: status not in HMRC's OAS`];
  const content = (response.content ?? {}) as Record<string, { schema?: Schema }>;
  const isBodyRoute = template.endsWith('/body');
  if (isBodyRoute && answer.status === 200 && mediaType === 'application/json') {
    // Deviation body-as-json: the converted message, one root key n1:CCnnnC.
    const keys = json ? Object.keys(answer.body as object) : [];
    return keys.length === 1 && /^n1:CC\d{3}C$/.test(keys[0] ?? '')
      ? []
      : [`${label}: +json body is not one n1:CCnnnC object`];
  }
  const wrapsXml = answer.accept !== undefined && /\+json[-+]xml$/i.test(answer.accept);
  const entry =
    content[mediaType] ??
    (mediaType === 'application/json' && wrapsXml ? content['application/json+xml'] : undefined) ??
    (mediaType === 'application/json'
      ? Object.entries(content).find(([type]) => type.includes('json'))?.[1]
      : undefined);
  if (entry === undefined)
    return [
      `${label}: ${mediaType || 'no content type'} is not among ${Object.keys(content).join(', ')}`,
    ];
  if (entry.schema === undefined) return [];
  const errors: string[] = [];
  if (mediaType === 'application/xml') {
    if (typeof answer.body !== 'string') errors.push(`${label}: XML body is not text`);
    return errors;
  }
  // Deviation json-body-object: only with +json; with +json-xml the body stays a string.
  const bodyObject = answer.accept !== undefined && /\+json$/i.test(answer.accept);
  check(oas, entry.schema, answer.body, label, errors, { bodyObject });
  return errors;
}
