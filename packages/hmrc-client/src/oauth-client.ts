import type { Logger } from '@ctc-hub/telemetry';
import type { Meter } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import type { HmrcError } from './errors.js';
import { authorizePath, tokenPath } from './paths.js';
import { HmrcTransport } from './transport.js';

/**
 * HMRC's OAuth 2.0 endpoints (reference §3.7): the authorize URL users are sent to, and the token
 * endpoint for the authorization-code, refresh-token and client-credentials grants. Stateless:
 * storing and serialising tokens is the TokenStore's job.
 */

export const ctcUserScope = 'common-transit-convention-traders';
export const guaranteeBalanceScope = 'common-transit-convention-guarantee-balance';
/** PPNS pull (application-restricted). */
export const ppnsApplicationScopes = ['read:pull-notifications', 'write:notifications'] as const;

export interface OAuthClientOptions {
  /** HMRC_API_BASE_URL: the token endpoint lives here. */
  apiBaseUrl: string;
  /** HMRC_AUTH_BASE_URL: where users authorise us; the API base when absent. */
  authBaseUrl?: string | undefined;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  timeoutMs: number;
  /** Scopes asked of the user. Add guaranteeBalanceScope to use the Guarantee Balance API. */
  userScopes?: readonly string[];
  dispatcher?: Dispatcher;
  meter?: Meter;
  logger?: Logger;
  /** Wall clock in ms (expiry times). */
  now?: () => number;
}

export interface TokenSet {
  accessToken: string;
  /** Single use at HMRC; absent for client-credentials tokens. */
  refreshToken?: string;
  expiresAt: Date;
  scope?: string;
  tokenType: string;
}

export type OAuthError =
  /** The token endpoint refused the grant: `code` is OAuth's (invalid_grant, invalid_client, …). */
  | { kind: 'rejected'; code: string; status: number; description: string }
  /** Rate limit, 5xx, timeout or network: try again later. The grant may or may not be spent. */
  | { kind: 'unavailable'; cause: HmrcError }
  | { kind: 'invalid-response'; status: number; description: string };

// Fails closed: anything but a well-formed token response is an error.
export type TokenResult = { ok: true; tokens: TokenSet } | { ok: false; error: OAuthError };

/** The refresh token is dead (spent, revoked, or past the 18-month limit): the user must consent again. */
export const isInvalidGrant = (error: OAuthError): boolean =>
  error.kind === 'rejected' && error.code === 'invalid_grant';

export class OAuthClient {
  readonly clientId: string;
  private readonly clientSecret: string;
  private readonly redirectUri: string;
  private readonly authBaseUrl: string;
  private readonly userScopes: readonly string[];
  private readonly transport: HmrcTransport;
  private readonly now: () => number;

  constructor(options: OAuthClientOptions) {
    this.clientId = options.clientId;
    this.clientSecret = options.clientSecret;
    this.redirectUri = options.redirectUri;
    this.authBaseUrl = (options.authBaseUrl ?? options.apiBaseUrl).replace(/\/+$/, '');
    this.userScopes = options.userScopes ?? [ctcUserScope];
    this.now = options.now ?? Date.now;
    this.transport = new HmrcTransport({
      baseUrl: options.apiBaseUrl,
      timeoutMs: options.timeoutMs,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      ...(options.meter === undefined ? {} : { meter: options.meter }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      now: this.now,
    });
  }

  /** Where to send the user; `state` must be single-use and bound to the EORI being connected. */
  authorizeUrl(state: string): string {
    const url = new URL(`${this.authBaseUrl}${authorizePath}`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.clientId,
      scope: this.userScopes.join(' '),
      redirect_uri: this.redirectUri,
      state,
    }).toString();
    return url.toString();
  }

  exchangeCode(code: string, signal?: AbortSignal): Promise<TokenResult> {
    return this.grant('authorization_code', { code, redirect_uri: this.redirectUri }, signal);
  }

  /** Spends `refreshToken` (single use): persist the returned pair before anything else. */
  refresh(refreshToken: string, signal?: AbortSignal): Promise<TokenResult> {
    return this.grant(
      'refresh_token',
      { refresh_token: refreshToken, redirect_uri: this.redirectUri },
      signal,
    );
  }

  clientCredentials(
    scopes: readonly string[] = ppnsApplicationScopes,
    signal?: AbortSignal,
  ): Promise<TokenResult> {
    return this.grant('client_credentials', { scope: scopes.join(' ') }, signal);
  }

  private async grant(
    grantType: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<TokenResult> {
    const body = new URLSearchParams({
      grant_type: grantType,
      client_id: this.clientId,
      client_secret: this.clientSecret,
      ...params,
    }).toString();
    const result = await this.transport.send({
      endpoint: `POST /oauth/token (${grantType})`,
      method: 'POST',
      path: tokenPath,
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body,
      maxBytes: 64 * 1024,
      signal,
    });
    if (!result.ok) return { ok: false, error: toOAuthError(result.error) };
    return parseTokenResponse(result.response.body, result.response.status, this.now());
  }
}

function toOAuthError(error: HmrcError): OAuthError {
  switch (error.kind) {
    case 'client-error':
    case 'unauthorized':
      return {
        kind: 'rejected',
        code: error.code ?? `http_${error.status}`,
        status: error.status,
        description: error.message,
      };
    case 'invalid-response':
      return { kind: 'invalid-response', status: error.status, description: error.message };
    case 'server-error':
      return error.retryable
        ? { kind: 'unavailable', cause: error }
        : {
            kind: 'rejected',
            code: `http_${error.status}`,
            status: error.status,
            description: error.message,
          };
    default:
      return { kind: 'unavailable', cause: error };
  }
}

function parseTokenResponse(body: Buffer, status: number, nowMs: number): TokenResult {
  const fail = (description: string): TokenResult => ({
    ok: false,
    error: { kind: 'invalid-response', status, description },
  });
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return fail('token response is not JSON');
  }
  if (typeof json !== 'object' || json === null) return fail('token response is not a JSON object');
  const record = json as Record<string, unknown>;
  const accessToken = record.access_token;
  if (typeof accessToken !== 'string' || accessToken === '')
    return fail('token response has no access_token');
  const expiresIn =
    typeof record.expires_in === 'string' ? Number(record.expires_in) : record.expires_in;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    return fail('token response has no positive expires_in');
  }
  const tokens: TokenSet = {
    accessToken,
    expiresAt: new Date(nowMs + expiresIn * 1000),
    tokenType: typeof record.token_type === 'string' ? record.token_type : 'bearer',
  };
  if (typeof record.refresh_token === 'string' && record.refresh_token !== '')
    tokens.refreshToken = record.refresh_token;
  if (typeof record.scope === 'string') tokens.scope = record.scope;
  return { ok: true, tokens };
}
