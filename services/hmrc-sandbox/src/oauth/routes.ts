import express, { Router, type Request, type Response } from 'express';
import type { RuntimeSettings } from '../core/settings.js';
import { grantableApplicationScopes, userScopes, type TokenStore } from './tokens.js';

/**
 * HMRC's OAuth 2.0 endpoints (reference §3.7). /oauth/authorize auto-approves: the EORI the
 * user "signs in" as comes from the `eori` query parameter (standing in for the Government
 * Gateway sign-in); without it a small form asks for one. Errors from /oauth/token use the
 * OAuth shape `{ error, error_description }`, as HMRC's token endpoint does.
 */

const eoriPattern = /^[A-Z]{2}[0-9A-Z]{1,15}$/;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function oauthError(response: Response, status: number, error: string, description: string): void {
  response.status(status).json({ error, error_description: description });
}

function parseScopes(text: string | undefined): Set<string> {
  return new Set((text ?? '').split(/[\s+]+/).filter((scope) => scope.length > 0));
}

function eoriForm(query: Record<string, string>): string {
  const hidden = Object.entries(query)
    .filter(([name]) => name !== 'eori')
    .map(
      ([name, value]) =>
        `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`,
    )
    .join('\n      ');
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Sign in - HMRC sandbox</title></head>
  <body>
    <h1>Sign in to the HMRC sandbox</h1>
    <p>Enter the EORI number of the trader (HMRC-CTC-ORG enrolment) to grant authority as.</p>
    <form method="get" action="/oauth/authorize">
      ${hidden}
      <label for="eori">EORI number</label>
      <input id="eori" name="eori" required pattern="[A-Z]{2}[0-9A-Z]{1,15}" value="GB123456789000">
      <button type="submit">Grant authority</button>
    </form>
  </body>
</html>
`;
}

export function oauthRoutes(tokens: TokenStore, settings: RuntimeSettings): Router {
  const router = Router();

  router.get('/oauth/authorize', (request: Request, response: Response) => {
    const query = request.query as Record<string, string>;
    const clientId = query.client_id;
    const redirectUri = query.redirect_uri;
    // Without a known client and a redirect URI there is nowhere safe to send an error.
    if (clientId !== settings.clientId) {
      response.status(400).type('text/plain').send('Invalid request: unknown client_id');
      return;
    }
    if (redirectUri === undefined || !URL.canParse(redirectUri)) {
      response
        .status(400)
        .type('text/plain')
        .send('Invalid request: redirect_uri is missing or not a URL');
      return;
    }
    const redirect = (params: Record<string, string | undefined>) => {
      const target = new URL(redirectUri);
      for (const [name, value] of Object.entries(params)) {
        if (value !== undefined) target.searchParams.set(name, value);
      }
      response.redirect(302, target.toString());
    };
    if (query.response_type !== 'code') {
      return redirect({ error: 'unsupported_response_type', state: query.state });
    }
    const scopes = parseScopes(query.scope);
    if (scopes.size === 0 || [...scopes].some((scope) => !userScopes.has(scope))) {
      return redirect({ error: 'invalid_scope', state: query.state });
    }
    const eori = query.eori?.trim().toUpperCase();
    if (eori === undefined || eori === '') {
      response.status(200).type('html').send(eoriForm(query));
      return;
    }
    if (!eoriPattern.test(eori)) {
      response.status(400).type('text/plain').send('Invalid EORI number');
      return;
    }
    const code = tokens.issueCode({ clientId, redirectUri, scopes, eori });
    redirect({ code, state: query.state });
  });

  router.post(
    '/oauth/token',
    express.urlencoded({ extended: false, limit: '16kb', type: () => true }),
    (request: Request, response: Response) => {
      const body = (request.body ?? {}) as Record<string, string | undefined>;
      if (body.client_id !== settings.clientId || body.client_secret !== settings.clientSecret) {
        return oauthError(response, 401, 'invalid_client', 'invalid client id or secret');
      }
      switch (body.grant_type) {
        case 'authorization_code': {
          if (body.code === undefined)
            return oauthError(response, 400, 'invalid_request', 'code is required');
          const granted = tokens.redeemCode(body.code, body.client_id, body.redirect_uri);
          if (granted === undefined)
            return oauthError(response, 400, 'invalid_request', 'code is invalid');
          response.json(tokens.issueUserTokens(granted.clientId, granted.eori, granted.scopes));
          return;
        }
        case 'refresh_token': {
          if (body.refresh_token === undefined) {
            return oauthError(response, 400, 'invalid_request', 'refresh_token is required');
          }
          const refreshed = tokens.refresh(body.refresh_token, body.client_id);
          if (refreshed === undefined)
            return oauthError(response, 400, 'invalid_grant', 'refresh_token is invalid');
          response.json(refreshed);
          return;
        }
        case 'client_credentials': {
          const requested = parseScopes(body.scope);
          if ([...requested].some((scope) => !grantableApplicationScopes.has(scope))) {
            return oauthError(response, 400, 'invalid_scope', 'scope is invalid');
          }
          response.json(tokens.issueApplicationToken(body.client_id, requested));
          return;
        }
        default:
          return oauthError(response, 400, 'unsupported_grant_type', 'grant_type is not supported');
      }
    },
  );

  return router;
}
