import type { Express, NextFunction, Request, Response } from 'express';
import { badRequest, sendError } from './errors.js';

/**
 * Text PostgreSQL refuses, checked once for every request before any route reads it.
 *
 * PostgreSQL's text types cannot hold U+0000 ("invalid byte sequence for encoding UTF8: 0x00"),
 * and jsonb refuses `\u0000` and unpaired surrogate escapes. Percent-encoded bytes that are not
 * UTF-8 (`%FF`, or `%ED%A0%80`, an encoded surrogate) do not reach the database as such: the
 * query parser silently turns them into U+FFFD, so a filter would quietly match something else,
 * and Express answers them in a path with a bare 500. All of these are the client's mistake and
 * get a 400 naming the parameter, whichever route it is sent to (params.ts then validates the
 * value's meaning).
 */

/** An unpaired UTF-16 surrogate: what JSON `"\uD800"` decodes to; node-pg would send U+FFFD. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL would refuse (or silently change) this text; undefined when it is fine. */
export function textProblem(value: string): string | undefined {
  if (value.includes('\0')) return 'must not contain NUL (U+0000, %00) characters';
  if (loneSurrogate.test(value)) return 'must be valid Unicode (it has an unpaired surrogate)';
  return undefined;
}

/** `decodeURIComponent` that says "not UTF-8" instead of throwing. */
function decodeComponent(raw: string): { ok: true; text: string } | { ok: false } {
  try {
    return { ok: true, text: decodeURIComponent(raw) };
  } catch {
    return { ok: false };
  }
}

const literalPercent = (raw: string) => raw.replace(/%(?![0-9A-Fa-f]{2})/g, '%25');

const notUtf8 = 'must be percent-encoded UTF-8 (a %-escape is not part of a UTF-8 character)';

export interface ParameterProblem {
  /** The parameter as the client named it (decoded when it could be). */
  parameter: string;
  message: string;
}

/** The first problem of a raw query string, naming the parameter; undefined when fine. */
export function queryProblem(rawQuery: string): ParameterProblem | undefined {
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    // The query parser reads `+` as a space; so do we.
    const rawName = (equals === -1 ? pair : pair.slice(0, equals)).replace(/\+/g, ' ');
    const rawValue = equals === -1 ? '' : pair.slice(equals + 1).replace(/\+/g, ' ');
    // A `%` that starts no escape is taken literally, as the query parser does (`?lrn=50%`).
    const name = decodeComponent(literalPercent(rawName));
    const nameProblem = name.ok ? textProblem(name.text) : notUtf8;
    // A name that cannot be decoded is shown as sent (still percent-encoded, so printable).
    if (nameProblem !== undefined || !name.ok)
      return {
        parameter: rawName,
        message: `The query parameter name ${shorten(rawName)} ${nameProblem}`,
      };
    const value = decodeComponent(literalPercent(rawValue));
    const valueProblem = value.ok ? textProblem(value.text) : notUtf8;
    if (valueProblem !== undefined)
      return {
        parameter: name.text,
        message: `The ${shorten(name.text)} parameter ${valueProblem}`,
      };
  }
  return undefined;
}

const shorten = (text: string) => (text.length > 64 ? `${text.slice(0, 64)}…` : text);

/** A route's path as registered, split into literal segments and `:name` parameters. */
type Template = readonly string[];

/**
 * Every route path registered on the app, nested routers included. Read from Express' router
 * (router 2.x: a layer has `route.path`, or a nested router in `handle.stack` mounted at
 * `rawPath`), so a route added later is covered without being listed here.
 */
export function routePaths(app: Express): { method: string; path: string }[] {
  const found: { method: string; path: string }[] = [];
  const walk = (stack: unknown[], prefix: string) => {
    for (const layer of stack as RouterLayer[]) {
      if (layer.route !== undefined) {
        for (const method of Object.keys(layer.route.methods))
          if (typeof layer.route.path === 'string')
            found.push({ method: method.toUpperCase(), path: prefix + layer.route.path });
      } else if (Array.isArray(layer.handle?.stack)) {
        const mount =
          typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: unknown[] } }).router.stack, '');
  return found;
}

interface RouterLayer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: unknown[] };
}

/** The parameter name a route gives the segment at `index` of `segments`, if one matches. */
function parameterAt(templates: Template[], segments: string[], index: number): string | undefined {
  const literal = (segment: string) => {
    const decoded = decodeComponent(segment);
    return decoded.ok ? decoded.text : undefined;
  };
  for (const template of templates) {
    if (template.length !== segments.length || !template[index]?.startsWith(':')) continue;
    const fits = template.every(
      (part, at) => part.startsWith(':') || literal(segments[at]!) === part,
    );
    if (fits) return template[index]!.slice(1);
  }
  return undefined;
}

/**
 * Middleware answering 400 for a query parameter or path segment PostgreSQL would refuse, or that
 * is not UTF-8. Install it before the routes; `app` is read lazily (on the first bad path) so the
 * routes registered after it are known by then.
 */
export function inputGuard(app: Express) {
  let templates: Template[] | undefined;
  const known = () => (templates ??= routePaths(app).map(({ path }) => path.split('/')));
  return (request: Request, response: Response, next: NextFunction): void => {
    const url = request.url;
    const mark = url.indexOf('?');
    const rawPath = mark === -1 ? url : url.slice(0, mark);
    const segments = rawPath.split('/');
    for (let index = 0; index < segments.length; index += 1) {
      const decoded = decodeComponent(segments[index]!);
      const problem = decoded.ok ? textProblem(decoded.text) : notUtf8;
      if (problem === undefined) continue;
      const name = parameterAt(known(), segments, index);
      const message =
        name === undefined
          ? `The path segment ${shorten(segments[index]!)} ${problem}`
          : `The ${name} path parameter ${problem}`;
      return sendError(response, badRequest(message, { parameter: name ?? segments[index] }));
    }
    if (mark !== -1) {
      const problem = queryProblem(url.slice(mark + 1));
      if (problem !== undefined)
        return sendError(response, badRequest(problem.message, { parameter: problem.parameter }));
    }
    next();
  };
}
