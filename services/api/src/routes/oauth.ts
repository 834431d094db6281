import { createHash, randomBytes } from 'node:crypto';
import {
  createHmrcClients,
  type OAuthClient,
  type OAuthError,
  type TokenStore,
} from '@ctc-hub/hmrc-client';
import { noopMeter } from '@ctc-hub/telemetry';
import { Router, type Request, type Response } from 'express';
import { canSeeEori, principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, badRequest, forbidden, route } from '../errors.js';

/**
 * Connecting a trader's EORI to HMRC (OAuth 2.0 authorization code, reference §3.7):
 *
 *   GET /oauth/hmrc/start?eori=GB…   (API key; the key must be allowed to see that EORI)
 *     → a random single-use `state`, bound to the EORI, stored for OAUTH_STATE_TTL_SECONDS
 *     → 302 to HMRC's authorize page
 *   GET /oauth/hmrc/callback?code&state   (no API key: the user's browser coming back from HMRC)
 *     → the state is consumed atomically (DELETE … RETURNING), so it works once
 *     → the code is exchanged and the tokens stored, encrypted, for the state's EORI
 *
 * Only the SHA-256 of a state is stored: a leaked oauth_states table cannot complete anyone's
 * flow. Codes, states and tokens are never logged or echoed back.
 *
 * The OAuth client and token store are built from deps.config/db/logger, once per deps object,
 * so ApiDeps, app.ts and start.ts need no change.
 */

interface OAuthConnect {
  oauth: OAuthClient;
  tokens: TokenStore;
}

const built = new WeakMap<ApiDeps, OAuthConnect>();

function connectOf(deps: ApiDeps): OAuthConnect {
  let connect = built.get(deps);
  if (connect === undefined) {
    const { oauth, tokens } = createHmrcClients(deps.config, {
      db: deps.db,
      logger: deps.logger,
      meter: deps.telemetry?.meter ?? noopMeter,
    });
    connect = { oauth, tokens };
    built.set(deps, connect);
  }
  return connect;
}

const eoriPattern = /^[A-Z]{2}[0-9A-Z]{1,15}$/;
const hashState = (state: string) => createHash('sha256').update(state, 'utf8').digest('hex');

/** GET /oauth/hmrc/start?eori=… (API key required, enforced by app.ts) → 302 to HMRC's authorize endpoint. */
export function oauthStartRoutes(deps: ApiDeps): Router {
  const { oauth } = connectOf(deps);
  const router = Router();
  router.get(
    '/oauth/hmrc/start',
    route(async (request, response) => {
      const given = request.query.eori;
      const eori = typeof given === 'string' ? given.trim().toUpperCase() : '';
      if (!eoriPattern.test(eori)) {
        throw badRequest('eori must be an EORI such as GB123456789000');
      }
      const principal = principalOf(request);
      if (!canSeeEori(principal, eori)) {
        throw forbidden(`This API key may not connect EORI ${eori}`);
      }
      const now = Date.now();
      const state = randomBytes(32).toString('base64url');
      await deps.db
        .insertInto('oauth_states')
        .values({
          state: hashState(state),
          eori,
          expires_at: new Date(now + deps.config.OAUTH_STATE_TTL_SECONDS * 1000),
        })
        .execute();
      // Abandoned flows leave rows behind; sweep the long-expired ones while we are here.
      await deps.db
        .deleteFrom('oauth_states')
        .where('expires_at', '<', new Date(now - 24 * 60 * 60 * 1000))
        .execute();
      deps.logger.info({ eori, keyId: principal.keyId }, 'hmrc connect started');
      response.setHeader('cache-control', 'no-store');
      response.redirect(302, oauth.authorizeUrl(state));
    }),
  );
  return router;
}

/** GET /oauth/hmrc/callback?code&state → exchanges the code and stores the tokens. */
export function oauthCallbackRoutes(deps: ApiDeps): Router {
  const { oauth, tokens } = connectOf(deps);
  const router = Router();
  router.get(
    '/oauth/hmrc/callback',
    route(async (request, response) => {
      const { code, state, error } = request.query;

      // Consume the state first, whatever else the request says: a state is good for one
      // return from HMRC, a refusal included. DELETE … RETURNING makes racing callbacks safe.
      const consumed =
        typeof state === 'string' && state.length > 0 && state.length <= 512
          ? await deps.db
              .deleteFrom('oauth_states')
              .where('state', '=', hashState(state))
              .returning(['eori', 'expires_at'])
              .executeTakeFirst()
          : undefined;

      if (error !== undefined) {
        // HMRC redirects back with ?error=access_denied when the user declines.
        const reason =
          typeof error === 'string' && /^[a-z_]{1,64}$/.test(error) ? error : 'unknown_error';
        const who = consumed === undefined ? '' : ` for EORI ${consumed.eori}`;
        const message =
          reason === 'access_denied'
            ? `Access was not granted at HMRC${who}: the user declined. Start again at /oauth/hmrc/start to connect.`
            : `HMRC did not authorise the connection${who} (${reason}). Start again at /oauth/hmrc/start.`;
        return reply(request, response, 400, {
          code: reason === 'access_denied' ? 'ACCESS_DENIED' : 'AUTHORIZATION_FAILED',
          message,
        });
      }
      if (consumed === undefined) {
        return reply(request, response, 400, {
          code: 'INVALID_STATE',
          message: 'Unknown or already used state. Start again at /oauth/hmrc/start.',
        });
      }
      if (consumed.expires_at.getTime() <= Date.now()) {
        return reply(request, response, 400, {
          code: 'STATE_EXPIRED',
          message: `The connection attempt for EORI ${consumed.eori} expired. Start again at /oauth/hmrc/start.`,
        });
      }
      if (typeof code !== 'string' || code.length === 0 || code.length > 2048) {
        return reply(request, response, 400, {
          code: 'BAD_REQUEST',
          message: 'The callback has no authorization code. Start again at /oauth/hmrc/start.',
        });
      }

      const exchanged = await oauth.exchangeCode(code);
      if (!exchanged.ok) {
        const failure = exchangeFailure(exchanged.error, consumed.eori);
        deps.logger.warn(
          { eori: consumed.eori, reason: failure.code },
          'hmrc authorization code exchange failed',
        );
        return reply(request, response, failure.status, {
          code: failure.code,
          message: failure.message,
        });
      }
      await tokens.saveUserTokens(consumed.eori, exchanged.tokens);
      deps.logger.info({ eori: consumed.eori }, 'hmrc connected');
      return reply(request, response, 200, {
        eori: consumed.eori,
        connected: true,
        scope: exchanged.tokens.scope ?? null,
        accessTokenExpiresAt: exchanged.tokens.expiresAt.toISOString(),
        message: `EORI ${consumed.eori} is connected to HMRC.`,
      });
    }),
  );
  return router;
}

function exchangeFailure(
  error: OAuthError,
  eori: string,
): { status: number; code: string; message: string } {
  if (error.kind === 'rejected') {
    return {
      status: 400,
      code: 'AUTHORIZATION_CODE_REJECTED',
      message: `HMRC refused the authorization code for EORI ${eori} (${error.code}). Start again at /oauth/hmrc/start.`,
    };
  }
  // Unavailable or a malformed answer: not the user's fault, and the code may still be unused,
  // but it is single use at HMRC and short-lived, so a fresh start is the only safe retry.
  return {
    status: 502,
    code: 'HMRC_UNAVAILABLE',
    message: `HMRC could not be reached to finish connecting EORI ${eori}. Start again at /oauth/hmrc/start.`,
  };
}

/**
 * JSON by default (errors through the api's error handler, HMRC's `{code, message}` shape); a
 * small HTML page when the client prefers text/html, which a browser landing here from HMRC does.
 * Never cached, and no Referer: the URL carries the authorization code.
 */
function reply(
  request: Request,
  response: Response,
  status: number,
  body: { code?: string; message: string } & Record<string, unknown>,
): void {
  response.setHeader('cache-control', 'no-store');
  response.setHeader('referrer-policy', 'no-referrer');
  if (request.accepts(['application/json', 'text/html']) === 'text/html') {
    response.setHeader('content-security-policy', "default-src 'none'");
    const title = status === 200 ? 'Connected to HMRC' : 'Not connected to HMRC';
    response
      .status(status)
      .type('html')
      .send(
        `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
          `<body><h1>${title}</h1><p>${escapeHtml(body.message)}</p></body></html>\n`,
      );
    return;
  }
  if (status >= 400) throw new ApiError(status, body.code ?? 'BAD_REQUEST', body.message);
  response.status(status).json(body);
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
