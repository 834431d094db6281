import type { NextFunction, Request, Response } from 'express';
import { authenticate, type parseApiKeys } from '../http/auth.js';
import { ApiError, sendError } from '../http/errors.js';

type KeyEntries = ReturnType<typeof parseApiKeys>;

const realm = 'Basic realm="ctc-hub operations", charset="UTF-8"';

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
 * Operator pages (bull-board, /ops) are opened in browsers, which cannot send a Bearer header but
 * do Basic authentication: the API key is the password, the user name is ignored. Bearer works
 * too, for scripts. Queues and ops data span every trader, so a key limited to some EORIs gets
 * 403 (fails closed).
 *
 * Browsers replay Basic credentials on any request to the origin, including one a hostile page
 * makes them send: unsafe methods (bull-board's retry, clean, … when ADMIN_QUEUE_WRITE is on) are
 * refused unless the request comes from our own pages (Sec-Fetch-Site / Origin).
 */
export function requireAdmin(keys: KeyEntries) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const header = request.headers.authorization;
    const key = presentedKey(header);
    const principal = key === undefined ? undefined : authenticate(keys, key);
    if (principal === undefined) {
      response.setHeader('WWW-Authenticate', realm);
      response.setHeader('Cache-Control', 'no-store');
      return sendError(
        response,
        new ApiError(
          401,
          'UNAUTHORIZED',
          header === undefined
            ? 'Sign in with the API key as password (Basic) or send Authorization: Bearer <API key>'
            : 'Invalid API key',
        ),
      );
    }
    if (principal.eoris !== '*') {
      return sendError(
        response,
        new ApiError(
          403,
          'FORBIDDEN',
          'Operator pages show every trader: use an API key that is not limited to some EORIs',
        ),
      );
    }
    if (!isSafeMethod(request.method) && isCrossSite(request)) {
      return sendError(
        response,
        new ApiError(403, 'FORBIDDEN', 'Cross-site requests may not change queues'),
      );
    }
    request.principal = principal;
    next();
  };
}

const isSafeMethod = (method: string) => method === 'GET' || method === 'HEAD';

function isCrossSite(request: Request): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string') return false; // curl and scripts: no Origin, no ambient cookies
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
}
