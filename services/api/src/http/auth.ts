import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ApiError, forbidden, sendError } from './errors.js';

/** What an API key may see: every EORI, or only the listed ones. */
export interface ApiPrincipal {
  /** First 8 hex characters of the key's SHA-256: identifies the key in logs and audit, never the key. */
  keyId: string;
  eoris: '*' | ReadonlySet<string>;
}

interface KeyEntry {
  hash: Buffer;
  principal: ApiPrincipal;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * Parses API_KEYS entries: `key`, `key:*`, `key:EORI1|EORI2`, with `sha256:<hex>` in place of a
 * key to keep the plain key out of the environment. Only hashes are kept in memory.
 */
export function parseApiKeys(entries: readonly string[]): KeyEntry[] {
  return entries.map((entry) => {
    const separator = entry.startsWith('sha256:') ? entry.indexOf(':', 7) : entry.indexOf(':');
    const keyPart = separator === -1 ? entry : entry.slice(0, separator);
    const scopePart = separator === -1 ? '*' : entry.slice(separator + 1);
    const hash = keyPart.startsWith('sha256:')
      ? Buffer.from(keyPart.slice(7), 'hex')
      : sha256(keyPart);
    const eoris =
      scopePart.trim() === '*' || scopePart.trim() === ''
        ? '*'
        : new Set(
            scopePart
              .split('|')
              .map((eori) => eori.trim().toUpperCase())
              .filter((eori) => eori !== ''),
          );
    return { hash, principal: { keyId: hash.toString('hex').slice(0, 8), eoris } };
  });
}

/** The principal for a presented key, comparing hashes in constant time against every entry. */
export function authenticate(
  entries: readonly KeyEntry[],
  presented: string,
): ApiPrincipal | undefined {
  const hash = sha256(presented);
  let found: ApiPrincipal | undefined;
  for (const entry of entries) {
    if (entry.hash.length === hash.length && timingSafeEqual(entry.hash, hash))
      found = entry.principal;
  }
  return found;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      principal?: ApiPrincipal;
    }
  }
}

/** `Authorization: Bearer <key>`; 401 when missing or unknown. */
export function requireApiKey(entries: readonly KeyEntry[]) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    const principal = match === null ? undefined : authenticate(entries, match[1]!);
    if (principal === undefined) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      return sendError(
        response,
        new ApiError(
          401,
          'UNAUTHORIZED',
          header === undefined ? 'Missing Authorization: Bearer <API key>' : 'Invalid API key',
        ),
      );
    }
    request.principal = principal;
    next();
  };
}

/** The API key from `Bearer <key>` or from `Basic base64(anyone:<key>)`; undefined otherwise. */
export function presentedKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer !== null) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (basic === null) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  return password === '' ? undefined : password;
}

/**
 * For what a browser opens (the operator pages, the start of the connect flow), which cannot
 * send a Bearer header but does Basic authentication: the principal of the API key sent as the
 * Basic password (the user name is ignored) or as Bearer. Without a known key, answers 401 with
 * a Basic challenge for `realm`, so the browser asks for the key, and returns undefined.
 */
export function browserPrincipal(
  entries: readonly KeyEntry[],
  request: Request,
  response: Response,
  realm: string,
): ApiPrincipal | undefined {
  const header = request.headers.authorization;
  const key = presentedKey(header);
  const principal = key === undefined ? undefined : authenticate(entries, key);
  if (principal !== undefined) return principal;
  response.setHeader('WWW-Authenticate', realm);
  response.setHeader('Cache-Control', 'no-store');
  sendError(
    response,
    new ApiError(
      401,
      'UNAUTHORIZED',
      header === undefined
        ? 'Sign in with the API key as password (Basic) or send Authorization: Bearer <API key>'
        : 'Invalid API key',
    ),
  );
  return undefined;
}

export function principalOf(request: Request): ApiPrincipal {
  if (request.principal === undefined) throw new ApiError(401, 'UNAUTHORIZED', 'Missing API key');
  return request.principal;
}

/**
 * An operator's key: not limited to some EORIs, so it sees every trader, and only it may read
 * or act on what spans traders (audit log, connections' resolution, operator pages).
 */
export const isOperator = (principal: ApiPrincipal): boolean => principal.eoris === '*';

/** The caller's principal when it is an operator's key; 403 FORBIDDEN with `refusal` otherwise. */
export function operatorOf(request: Request, refusal: string): ApiPrincipal {
  const principal = principalOf(request);
  if (!isOperator(principal)) throw forbidden(refusal);
  return principal;
}

export function canSeeEori(principal: ApiPrincipal, eori: string | null | undefined): boolean {
  if (principal.eoris === '*') return true;
  return eori !== null && eori !== undefined && principal.eoris.has(eori.toUpperCase());
}

/** SQL-ready EORI filter: undefined = no restriction; otherwise the allowed list. */
export function eoriFilter(principal: ApiPrincipal): string[] | undefined {
  return principal.eoris === '*' ? undefined : [...principal.eoris];
}
