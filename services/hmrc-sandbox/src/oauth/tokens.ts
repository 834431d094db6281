import { randomBytes } from 'node:crypto';

/**
 * OAuth state of the sandbox's authorisation server: authorisation codes, access tokens and
 * single-use refresh tokens. Tokens are opaque random strings; nothing here is ever logged.
 */

export const userScopes = new Set([
  'common-transit-convention-traders',
  'common-transit-convention-guarantee-balance',
]);
/** What a client-credentials token gets when it asks for nothing in particular (PPNS pull). */
export const applicationScopes = new Set(['read:pull-notifications', 'write:notifications']);
/**
 * What a client-credentials token may ask for: the PPNS scopes, and the CTC scope that the
 * retired v1 box endpoint (GET /customs/transits/movements/push-pull-notifications/box) required
 * of an application-restricted token.
 */
export const grantableApplicationScopes = new Set([
  ...applicationScopes,
  'common-transit-convention-traders',
]);

export interface AccessToken {
  token: string;
  /** user = authorisation code grant (acts as a trader); application = client credentials. */
  kind: 'user' | 'application';
  clientId: string;
  /** The trader's HMRC-CTC-ORG EORI (user tokens only). */
  eori: string | undefined;
  scopes: Set<string>;
  expiresAt: number;
}

interface AuthorisationCode {
  clientId: string;
  redirectUri: string;
  scopes: Set<string>;
  eori: string;
  expiresAt: number;
}

interface RefreshToken {
  clientId: string;
  scopes: Set<string>;
  eori: string;
  /** Single use: a used refresh token answers invalid_grant. */
  used: boolean;
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  scope: string;
  token_type: 'bearer';
}

const opaque = () => randomBytes(16).toString('hex');
const codeLifetimeMs = 10 * 60 * 1000;

export class TokenStore {
  private readonly codes = new Map<string, AuthorisationCode>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, RefreshToken>();

  constructor(private readonly ttlSeconds: () => number) {}

  issueCode(input: Omit<AuthorisationCode, 'expiresAt'>): string {
    const code = opaque();
    this.codes.set(code, { ...input, expiresAt: Date.now() + codeLifetimeMs });
    return code;
  }

  /** Redeems a code once; undefined when unknown, expired, used or issued to another client/URI. */
  redeemCode(
    code: string,
    clientId: string,
    redirectUri: string | undefined,
  ): AuthorisationCode | undefined {
    const entry = this.codes.get(code);
    this.codes.delete(code);
    if (entry === undefined || entry.expiresAt < Date.now() || entry.clientId !== clientId)
      return undefined;
    if (redirectUri !== undefined && redirectUri !== entry.redirectUri) return undefined;
    return entry;
  }

  issueUserTokens(clientId: string, eori: string, scopes: Set<string>): TokenResponse {
    const access = this.issueAccess('user', clientId, eori, scopes);
    const refresh = opaque();
    this.refreshTokens.set(refresh, { clientId, eori, scopes, used: false });
    return { ...access, refresh_token: refresh };
  }

  /** Rotates a refresh token: the old one is spent, whatever happens next. */
  refresh(token: string, clientId: string): TokenResponse | undefined {
    const entry = this.refreshTokens.get(token);
    if (entry === undefined || entry.used || entry.clientId !== clientId) return undefined;
    entry.used = true;
    return this.issueUserTokens(entry.clientId, entry.eori, entry.scopes);
  }

  issueApplicationToken(clientId: string, scopes: Set<string>): TokenResponse {
    return this.issueAccess('application', clientId, undefined, scopes);
  }

  private issueAccess(
    kind: AccessToken['kind'],
    clientId: string,
    eori: string | undefined,
    scopes: Set<string>,
  ): TokenResponse {
    const token = opaque();
    const ttl = this.ttlSeconds();
    this.accessTokens.set(token, {
      token,
      kind,
      clientId,
      eori,
      scopes,
      expiresAt: Date.now() + ttl * 1000,
    });
    return {
      access_token: token,
      expires_in: ttl,
      scope: [...scopes].join(' '),
      token_type: 'bearer',
    };
  }

  /** The live token, or undefined if unknown or expired. */
  lookup(token: string): AccessToken | undefined {
    const entry = this.accessTokens.get(token);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.accessTokens.delete(token);
      return undefined;
    }
    return entry;
  }

  /** Makes every access token expire now (to test refresh handling). */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  reset(): void {
    this.codes.clear();
    this.accessTokens.clear();
    this.refreshTokens.clear();
  }
}
