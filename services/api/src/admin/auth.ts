import type { NextFunction, Request, Response } from 'express';
import { browserPrincipal, isOperator, type parseApiKeys } from '../http/auth.js';
import { ApiError, sendError } from '../http/errors.js';

type KeyEntries = ReturnType<typeof parseApiKeys>;

const realm = 'Basic realm="ctc-hub operations", charset="UTF-8"';

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
    const principal = browserPrincipal(keys, request, response, realm);
    if (principal === undefined) return;
    if (!isOperator(principal)) {
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
