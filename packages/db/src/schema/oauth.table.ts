import type { Generated, Insertable, Selectable } from 'kysely';

export interface OauthTokensTable {
  /** EORI for user-restricted tokens, `application:<clientId>` for client-credentials tokens. */
  subject: string;
  kind: 'user' | 'application';
  /** Encrypted (AES-256-GCM), see packages/hmrc-client token-crypto. */
  access_token: string;
  /** Encrypted; single use at HMRC, replaced atomically on every refresh. */
  refresh_token: string | null;
  scope: string | null;
  access_expires_at: Date;
  /** When the user granted authority; refresh stops working 18 months later. */
  consented_at: Date;
  refreshed_at: Date | null;
  refresh_count: Generated<number>;
  updated_at: Generated<Date>;
}

export interface OauthStatesTable {
  state: string;
  eori: string;
  created_at: Generated<Date>;
  expires_at: Date;
}

export type OauthToken = Selectable<OauthTokensTable>;
export type NewOauthToken = Insertable<OauthTokensTable>;
