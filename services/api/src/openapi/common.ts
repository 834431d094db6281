import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { countQuery, pageQuery } from '../http/schemas.js';

/**
 * Pieces every part of the OpenAPI document uses: the error body, links, paging parameters and
 * the usual error responses. Each capability describes its own routes in its `openapi.ts`, with
 * the schemas its routes validate with.
 */

export type Registry = OpenAPIRegistry;
type Responses = RouteConfig['responses'];

export const link = z.object({ href: z.string() }).meta({ id: 'Link' });
export const links = (...names: string[]) =>
  z.object(Object.fromEntries(names.map((name) => [name, link]))).loose();

/** HMRC's error shape (`code`, `message`), with fields of its own for some errors. */
export const errorBody = z
  .object({
    code: z.string().meta({ description: 'Machine-readable, e.g. BAD_REQUEST, NOT_FOUND' }),
    message: z.string().meta({ description: 'What went wrong, for a person' }),
  })
  .loose()
  .meta({ id: 'Error', description: 'An error, in the shape HMRC answers its own errors in' });

const errorText: Record<number, string> = {
  400: 'A parameter or the body is invalid; the message names it',
  401: 'No API key, or an unknown one',
  403: 'The API key may not do this (limited to other EORIs, or not an operator key)',
  404: 'Not found, or not visible to this API key',
  405: 'Not allowed in the configured CTC API version',
  406: 'The Accept header asks only for a representation this route does not serve',
  409: 'Conflicts with the current state; the message says what to do',
  413: 'The body is larger than allowed',
  415: 'The body is not of a type this route accepts',
  429: "Too many requests, or the key's limit reached; see Retry-After",
  500: 'Internal error (logged with the request id)',
  502: 'HMRC answered with an error',
  503: 'A dependency is unavailable; try again (see Retry-After when present)',
  504: 'HMRC did not answer in time',
};

export const errors = (...statuses: number[]): Responses =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: errorText[status] ?? 'Error', content: json(errorBody) },
    ]),
  );

/** Errors any route behind the API key may give. */
export const authErrors = (...more: number[]) => errors(400, 401, 429, ...more);

export const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

export const ok = (description: string, schema: z.ZodType) => ({
  description,
  content: json(schema),
});

/** page and count, as HMRC pages its lists. */
export const paging = { page: pageQuery.optional(), count: countQuery.optional() };

/** Bearer API key on every /v1 and /customs route. */
type Security = Record<string, string[]>[];
export const apiKey: Security = [{ apiKey: [] }];
/** Operator pages: the key as the Basic password (browsers) or as Bearer (scripts). */
export const operatorKey: Security = [{ operatorBasic: [] }, { apiKey: [] }];

export const isoTime = z.string().meta({ format: 'date-time' });
export const isoTimeOrNull = isoTime.nullable();
export const uuid = z.string().meta({ format: 'uuid' });

export function registerSecurity(registry: Registry): void {
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key from API_KEYS, as `Authorization: Bearer <key>`. A key limited to some EORIs ' +
      "sees and acts only for those EORIs; an operator key (not limited) sees every trader's.",
  });
  registry.registerComponent('securitySchemes', 'operatorBasic', {
    type: 'http',
    scheme: 'basic',
    description: 'For browsers: an operator API key as the Basic password (user name ignored).',
  });
}
