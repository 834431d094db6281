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
  /** One per consent (a new authorization-code grant makes a new connection); null for application tokens. */
  connection_id: string | null;
  /**
   * Whether HMRC's answers have shown which EORI the token acts for: `unverified` until they do,
   * `verified` when they name `subject`, `mismatched` when they name another (never used again).
   */
  verification: Generated<ConnectionVerification>;
  verified_at: Date | null;
  /** The EORI HMRC's answers named for a mismatched connection. */
  observed_eori: string | null;
  mismatch_at: Date | null;
  /** What showed the mismatch (which call or notification), for the operator. */
  mismatch_detail: string | null;
  /** API key id that started the connect flow. */
  connected_by: string | null;
  /**
   * An operator stands behind the connection (its flow was started by an unscoped key, or an
   * operator confirmed it): it may be used while HMRC's answers cannot yet confirm its EORI.
   */
  vouched: Generated<boolean>;
  /** When HMRC refused the refresh token (its OAuth error in refresh_error); null otherwise. */
  refresh_refused_at: Date | null;
  /** HMRC's OAuth error code for that refusal, e.g. invalid_grant. */
  refresh_error: string | null;
}

export type ConnectionVerification = 'unverified' | 'verified' | 'mismatched';

export interface OauthStatesTable {
  state: string;
  eori: string;
  created_at: Generated<Date>;
  expires_at: Date;
  /** SHA-256 of the secret in the __Host- cookie of the browser that started the flow. */
  binding_hash: string | null;
  /** API key id that started the flow. */
  started_by: string | null;
  /** Whether that key was an operator's (not limited to some EORIs). */
  started_by_operator: Generated<boolean>;
}

export type OauthToken = Selectable<OauthTokensTable>;
export type NewOauthToken = Insertable<OauthTokensTable>;
