import type { NextFunction, Request, Response } from 'express';

/**
 * Headers for JSON API answers: no sniffing, never framed, no referrer, nothing cached on the
 * way (answers carry traders' data), and a CSP that lets nothing load if one is opened in a
 * browser. The operator pages set their own, looser CSP.
 */
export function securityHeaders(request: Request, response: Response, next: NextFunction): void {
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  // bull-board's page runs its own scripts and styles; /ops sets a CSP of its own.
  if (!request.path.startsWith('/admin/') && !request.path.startsWith('/ops'))
    response.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  if (!response.hasHeader('Cache-Control')) response.setHeader('Cache-Control', 'no-store');
  next();
}
