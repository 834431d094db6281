export {
  TokenCipher,
  tokenCipherFromConfig,
  tokenKeyId,
  type DecryptError,
  type DecryptResult,
  type TokenKey,
} from './token-crypto.js';
export { tokenContext } from './token-rows.js';
export {
  connectionStateOf,
  eoriConnection,
  reconsentByOf,
  type EoriConnection,
  type EoriConnectionState,
  type StoredAuthority,
} from './connection.js';
export {
  OAuthClient,
  ctcUserScope,
  guaranteeBalanceScope,
  isInvalidGrant,
  ppnsApplicationScopes,
  type OAuthClientOptions,
  type OAuthError,
  type TokenResult,
  type TokenSet,
} from './oauth-client.js';
export {
  TokenStore,
  reconsentMonths,
  type AccessTokenResult,
  type NearReconsent,
  type TokenError,
  type TokenStoreOptions,
} from './token-store.js';
export {
  CtcClient,
  smallMessageMaxBytes,
  v1MessageMaxBytes,
  type CallOptions,
  type CtcApiVersion,
  type CtcClientOptions,
  type FetchMessageBodyRequest,
  type GetMessageRequest,
  type InitiateLargeMessageRequest,
  type ListMessagesQuery,
  type ListMovementsRequest,
  type ResubmitArrivalRequest,
  type SubmitMessageRequest,
} from './ctc-client.js';
export type { BoxNotifications, BoxNotificationsQuery, PpnsStatusFilter } from './ppns-pull.js';
export { checkUploadUrl, type UploadPolicy, type UploadUrlCheck } from './large-message.js';
export type {
  CtcBox,
  CtcMessage,
  GuaranteeBalance,
  MessageList,
  MessageSummary,
  MovementList,
  MovementSummary,
  SubmissionAccepted,
  UploadRequest,
} from './ctc-responses.js';
export {
  defaultRetryAfterMs,
  describeHmrcError,
  isRetryable,
  maxRetryAfterMs,
  parseRetryAfter,
  submissionOutcome,
  type HmrcError,
  type HmrcErrorKind,
  type HmrcResult,
  type HmrcValidationError,
  type RequestOutcome,
} from './errors.js';
// HmrcTransport stays internal: its upload path can reach a non-HMRC URL (checked by CtcClient).
export type { Clearance, PacedCall, TransportOptions } from './transport.js';
export type { TransportResponse } from './transport.js';
export { hmrcReplyOf } from './reply.js';
export { formatDateTime, type DateTimeInput } from './query.js';
export {
  createHmrcClients,
  type HmrcClientConfig,
  type HmrcClientDeps,
  type HmrcClients,
} from './clients.js';
