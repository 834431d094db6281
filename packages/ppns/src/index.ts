export { signPayload, verifySignature } from './signature.js';
export {
  formatPpnsDateTime,
  parseEnvelope,
  parsePpnsDateTime,
  validateEnvelope,
  type EnvelopeError,
  type EnvelopeResult,
  type PpnsEnvelope,
  type PpnsStatus,
} from './envelope.js';
export {
  movementPath,
  parseMessageUri,
  type MessageUriParts,
  type MovementType,
} from './message-uri.js';
export {
  parseCtcPayload,
  type CtcPayload,
  type PayloadError,
  type PayloadResult,
  type SubmissionResponse,
  type V1MessageNotification,
  type V2MessageReceived,
  type V2SubmissionNotification,
} from './payload.js';
export {
  challengeUrl,
  ppnsNotificationJson,
  relayedNotification,
  type PpnsNotification,
} from './relay.js';
