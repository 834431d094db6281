import type { NextFunction, Request, Response } from 'express';
import { principalOf } from './auth.js';
import { ApiError, sendError } from './errors.js';

/**
 * Requests one API key may have in progress at once in this process; beyond it 429
 * `KEY_LIMIT_REACHED` with Retry-After 1. The token bucket bounds how often a key may ask, not how
 * much it holds: without this, one key could keep hundreds of slow downloads of large message
 * bodies (each a chunk of memory and a stream of queries) or slow list queries in progress and
 * leave the pool and memory to nobody else. A request counts from authentication until its
 * answer is finished or its connection closed. `exempt` requests are counted elsewhere (event
 * streams, which have their own per-key share and last for hours).
 */
export function concurrencyPerKey(options: { max: number; exempt: (request: Request) => boolean }) {
  const inProgress = new Map<string, number>();
  const release = (keyId: string) => {
    const left = (inProgress.get(keyId) ?? 1) - 1;
    if (left > 0) inProgress.set(keyId, left);
    else inProgress.delete(keyId);
  };
  return (request: Request, response: Response, next: NextFunction): void => {
    if (options.exempt(request)) return next();
    const { keyId } = principalOf(request);
    const current = inProgress.get(keyId) ?? 0;
    if (current >= options.max) {
      response.setHeader('Retry-After', '1');
      return sendError(
        response,
        new ApiError(
          429,
          'KEY_LIMIT_REACHED',
          `This API key already has ${options.max} requests in progress on this server, the ` +
            'most it may have at once; retry after 1 s',
          { limit: 'concurrent-requests', max: options.max },
        ),
      );
    }
    inProgress.set(keyId, current + 1);
    // 'close' fires once, whether the answer was sent in full or the connection went away.
    response.once('close', () => release(keyId));
    next();
  };
}
