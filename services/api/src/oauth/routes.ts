import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  createHmrcClients,
  type OAuthClient,
  type OAuthError,
  type TokenStore,
} from '@ctc-hub/hmrc-client';
import { addJob, jobIds, jobs } from '@ctc-hub/queue';
import { noopMeter } from '@ctc-hub/telemetry';
import {
  Router,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { writeAudit } from '../audit/queries.js';
import type { ApiDeps } from '../deps.js';
import {
  browserPrincipal,
  canSeeEori,
  isOperator,
  principalOf,
  type parseApiKeys,
} from '../http/auth.js';
import { ApiError, badRequest, forbidden, route, sendError } from '../http/errors.js';
import { eoriPattern } from '../http/params.js';
import { consumeState, saveState, sweepStates } from './queries.js';

/**
 * Connecting a trader's EORI to HMRC (OAuth 2.0 authorization code, reference §3.7):
 *
 *   GET /oauth/hmrc/start?eori=GB…   (API key as Bearer, or as the Basic password in a browser;
 *                                     an operator key for any EORI, a scoped key for its own)
 *     → a random single-use `state`, stored (hashed) for OAUTH_STATE_TTL_SECONDS with the EORI and
 *       the starting key, and bound to this browser: a second secret goes into a `__Host-`
 *       cookie (HttpOnly, Secure, SameSite=Lax) and only its hash is stored with the state
 *     → 302 to HMRC's authorize page
 *   GET /oauth/hmrc/callback?code&state   (no API key: the browser coming back from HMRC)
 *     → the state is consumed atomically (DELETE … RETURNING), so it works once
 *     → the browser must present the state's cookie: an authorize link sent to someone else, or a
 *       callback URL opened in another browser, is refused before any code is exchanged
 *     → the code is exchanged and the tokens stored, encrypted, as a new connection of the EORI,
 *       `unverified`; the worker then checks it against the movements HMRC lists for it
 *
 * The binding stops a link from being completed by someone else, but not a person who is sent
 * the start link and signs in as themselves. So nothing trusts the label: data is filed under
 * the EORI HMRC reports, and a connection HMRC's answers show to be someone else's is marked
 * mismatched and stopped (docs/ARCHITECTURE.md, "Trust model of the connect flow").
 *
 * Only hashes of states and bindings are stored: a leaked oauth_states table cannot complete
 * anyone's flow. Codes, states, cookies and tokens are never logged or echoed back.
 */

/**
 * The connect flow's one entry: the callback (no API key: the browser coming back from HMRC,
 * the single-use `state` is the proof), then the start behind requireConnectKey and the key's
 * rate limit.
 */
export function oauthRoutes(
  deps: ApiDeps,
  guard: { keys: ReturnType<typeof parseApiKeys>; rateLimit: RequestHandler | undefined },
): Router {
  const router = Router();
  router.use(oauthCallbackRoutes(deps));
  // Also from a browser (Basic), where the flow's binding cookie must land.
  router.use(
    '/oauth/hmrc/start',
    requireConnectKey(guard.keys),
    ...(guard.rateLimit ? [guard.rateLimit] : []),
  );
  router.use(oauthStartRoutes(deps));
  return router;
}

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

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const hashState = sha256Hex;

/**
 * The binding cookie of one flow, named after its state so that flows started in parallel (two
 * tabs, two EORIs) do not overwrite each other's. `__Host-`: Secure, no Domain, Path=/, so no
 * other host or path can plant or read it. Lax: sent on the top-level GET back from HMRC.
 */
const bindingCookieName = (stateHash: string) => `__Host-ctc-oauth-${stateHash.slice(0, 16)}`;

function bindingCookie(stateHash: string, value: string, maxAgeSeconds: number): string {
  return `${bindingCookieName(stateHash)}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}`;
}

function cookieValue(request: Request, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator === -1) continue;
    if (part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

const sameHash = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));

const realm = 'Basic realm="ctc-hub: connect a trader to HMRC"';

/**
 * Who may start a flow, checked before anything is stored: the API key as Bearer, or as the
 * Basic password (a browser, where the binding cookie then lands — the browser that will sign
 * in). Browsers replay Basic credentials on requests other sites make them send, so a start
 * that a cross-site page triggered (Sec-Fetch-Site: cross-site/same-site) is refused.
 */
export function requireConnectKey(keys: ReturnType<typeof parseApiKeys>) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const principal = browserPrincipal(keys, request, response, realm);
    if (principal === undefined) return;
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      return sendError(
        response,
        new ApiError(
          403,
          'FORBIDDEN',
          'A connection to HMRC can only be started from this service or by opening the link directly',
        ),
      );
    }
    request.principal = principal;
    next();
  };
}

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
      const binding = randomBytes(32).toString('base64url');
      const stateHash = hashState(state);
      await saveState(deps.db, {
        stateHash,
        eori,
        expiresAt: new Date(now + deps.config.OAUTH_STATE_TTL_SECONDS * 1000),
        bindingHash: sha256Hex(binding),
        startedBy: principal.keyId,
        startedByOperator: isOperator(principal),
      });
      // Abandoned flows leave rows behind; sweep the long-expired ones while we are here.
      await sweepStates(deps.db, new Date(now - 24 * 60 * 60 * 1000));
      deps.logger.info({ eori, keyId: principal.keyId }, 'hmrc connect started');
      response.setHeader('cache-control', 'no-store');
      response.append(
        'set-cookie',
        bindingCookie(stateHash, binding, deps.config.OAUTH_STATE_TTL_SECONDS),
      );
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
      const stateHash =
        typeof state === 'string' && state.length > 0 && state.length <= 512
          ? hashState(state)
          : undefined;
      const consumed = stateHash !== undefined ? await consumeState(deps.db, stateHash) : undefined;
      // The binding cookie has served its purpose either way.
      if (stateHash !== undefined) response.append('set-cookie', bindingCookie(stateHash, '', 0));

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
      const presented = cookieValue(request, bindingCookieName(stateHash!));
      if (
        consumed.binding_hash === null ||
        presented === undefined ||
        !sameHash(sha256Hex(presented), consumed.binding_hash)
      ) {
        // Someone else's link (or a callback URL passed on): never exchange that code. The
        // state is spent, so the link cannot be completed afterwards either.
        deps.logger.warn(
          { eori: consumed.eori, startedBy: consumed.started_by, cookie: presented !== undefined },
          'hmrc connect refused: the callback came to another browser than the one that started it',
        );
        await writeAudit(deps.db, {
          actor: consumed.started_by ?? 'unknown',
          action: 'connection.connect',
          target: { eori: consumed.eori },
          outcome: 'refused',
          details: { reason: 'browser-mismatch' },
        });
        return reply(request, response, 403, {
          code: 'STATE_BROWSER_MISMATCH',
          message:
            `This sign-in was started in another browser. Connecting EORI ${consumed.eori} must be ` +
            'started and finished in the same browser: open /oauth/hmrc/start?eori=' +
            `${consumed.eori} in the browser that signs in at HMRC.`,
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
      const { connectionId } = await tokens.saveUserTokens(consumed.eori, exchanged.tokens, {
        ...(consumed.started_by !== null ? { connectedBy: consumed.started_by } : {}),
        // An operator's key vouches for the sign-in; a trader's own key does not (the tenant could
        // have had someone else sign in): until HMRC's answers confirm it, it only reads.
        vouched: consumed.started_by_operator,
      });
      await writeAudit(deps.db, {
        actor: consumed.started_by ?? 'unknown',
        action: 'connection.connect',
        target: { eori: consumed.eori, connectionId },
        outcome: 'ok',
      });
      // Which EORI the token really acts for is learnt from HMRC's answers: ask now, so a wrong
      // sign-in is caught before anything uses it. Should the job not get queued, the worker
      // checks the connection before its first use anyway.
      await addJob(
        deps.hmrcQueue,
        jobs.verifyConnection,
        { eori: consumed.eori, connectionId },
        { jobId: jobIds.verifyConnection(connectionId) },
      ).catch((error: unknown) =>
        deps.logger.warn(
          { err: error, eori: consumed.eori },
          'could not queue the check of a new HMRC connection; it is checked before first use',
        ),
      );
      deps.logger.info({ eori: consumed.eori }, 'hmrc connected');
      return reply(request, response, 200, {
        eori: consumed.eori,
        connected: true,
        verification: 'unverified',
        scope: exchanged.tokens.scope ?? null,
        accessTokenExpiresAt: exchanged.tokens.expiresAt.toISOString(),
        message:
          `EORI ${consumed.eori} is connected to HMRC. ctc-hub checks the movements HMRC lists ` +
          `for it before use: GET /v1/connections/${consumed.eori} shows the result.`,
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
