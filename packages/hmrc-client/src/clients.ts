import type { ApiConfig } from '@ctc-hub/config';
import type { Db } from '@ctc-hub/db';
import type { Logger } from '@ctc-hub/telemetry';
import type { Meter } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import type { Clearance, PacedCall } from './transport.js';
import { CtcClient } from './ctc-client.js';
import { OAuthClient } from './oauth-client.js';
import { tokenCipherFromConfig, type TokenCipher } from './token-crypto.js';
import { TokenStore } from './token-store.js';

/** The HMRC settings both the api and the worker read (hmrcConcern). */
export type HmrcClientConfig = Pick<
  ApiConfig,
  | 'HMRC_API_BASE_URL'
  | 'HMRC_AUTH_BASE_URL'
  | 'HMRC_CLIENT_ID'
  | 'HMRC_CLIENT_SECRET'
  | 'HMRC_REDIRECT_URI'
  | 'HMRC_USER_SCOPES'
  | 'CTC_API_VERSION'
  | 'HMRC_REQUEST_TIMEOUT_MS'
  | 'HMRC_UPLOAD_HOSTS'
  | 'HMRC_UPLOAD_ALLOW_HTTP'
  | 'TOKEN_ENCRYPTION_KEYS'
  | 'TOKEN_ENCRYPTION_KEY'
>;

export interface HmrcClients {
  cipher: TokenCipher;
  oauth: OAuthClient;
  tokens: TokenStore;
  ctc: CtcClient;
}

export interface HmrcClientDeps {
  db: Db;
  logger?: Logger;
  /** Shared connection pool for every HMRC call of the process; undici's global one when absent. */
  dispatcher?: Dispatcher;
  meter?: Meter;
  /** Awaited before every CTC/PPNS API call (the worker's shared rate pacers). */
  beforeRequest?: (call: PacedCall) => Promise<Clearance | undefined>;
}

/**
 * Everything a service needs to talk to HMRC, built from config. Call after initTelemetry() so the
 * metrics are real. Throws if an encryption key does not decode (config validation prevents it).
 */
export function createHmrcClients(config: HmrcClientConfig, deps: HmrcClientDeps): HmrcClients {
  const shared = {
    timeoutMs: config.HMRC_REQUEST_TIMEOUT_MS,
    ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
    ...(deps.meter === undefined ? {} : { meter: deps.meter }),
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
  };
  const cipher = tokenCipherFromConfig(config);
  const oauth = new OAuthClient({
    ...shared,
    apiBaseUrl: config.HMRC_API_BASE_URL,
    authBaseUrl: config.HMRC_AUTH_BASE_URL,
    clientId: config.HMRC_CLIENT_ID,
    clientSecret: config.HMRC_CLIENT_SECRET,
    redirectUri: config.HMRC_REDIRECT_URI,
    // One consent covers both APIs the hub calls as the trader (HMRC_USER_SCOPES); a token
    // without the guarantee scope gets 401 INVALID_SCOPE from the Guarantee Balance API.
    userScopes: config.HMRC_USER_SCOPES,
  });
  const tokens = new TokenStore({
    db: deps.db,
    cipher,
    oauth,
    // Waiting behind another replica's refresh must outlast that replica's HMRC call.
    lockTimeoutMs: config.HMRC_REQUEST_TIMEOUT_MS + 15_000,
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    ...(deps.meter === undefined ? {} : { meter: deps.meter }),
  });
  const ctc = new CtcClient({
    ...shared,
    ...(deps.beforeRequest === undefined ? {} : { beforeRequest: deps.beforeRequest }),
    baseUrl: config.HMRC_API_BASE_URL,
    apiVersion: config.CTC_API_VERSION,
    upload: { hosts: config.HMRC_UPLOAD_HOSTS, allowHttp: config.HMRC_UPLOAD_ALLOW_HTTP },
  });
  return { cipher, oauth, tokens, ctc };
}
