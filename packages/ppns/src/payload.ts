import { parseMessageUri, type MessageUriParts, type MovementType } from './message-uri.js';

/**
 * The CTC notification inside the PPNS `message` (reference §2). Two families:
 *  - v2 (CTC Traders API 2.x / 3.0): messageUri, notificationType, messageId,
 *    enrollmentEORINumber, departureId | arrivalId, messageType, messageBody | response;
 *  - v1 (phase 4, retired): messageUri, requestId, customerId, arrivalId | departureId,
 *    messageId, received, messageType, messageBody.
 * Unknown fields are ignored ("this schema is subject to change"); the guide's own typos
 * (`enrollementEORINumber`) are tolerated.
 */

interface PayloadBase {
  movementType: MovementType;
  movementId: string;
  messageId: string;
  messageUri: string;
  /** /customs/transits/movements/{departures|arrivals}/{movementId} */
  movementPath: string;
  /** Whose enrolment the movement belongs to (v2 enrollmentEORINumber, v1 customerId). */
  eori: string | null;
  messageType: string | null;
}

export interface V2MessageReceived extends PayloadBase {
  version: 'v2';
  notificationType: 'MESSAGE_RECEIVED';
  /** Inline XML when the message is at most 80,000 bytes; null means fetch it by messageUri. */
  messageBody: string | null;
}

export interface SubmissionResponse {
  code: string;
  message: string | null;
  validationErrors: unknown[] | null;
}

export interface V2SubmissionNotification extends PayloadBase {
  version: 'v2';
  notificationType: 'SUBMISSION_NOTIFICATION';
  response: SubmissionResponse;
}

export interface V1MessageNotification extends PayloadBase {
  version: 'v1';
  notificationType: 'MESSAGE_RECEIVED';
  requestId: string | null;
  /** HMRC received time, zone-less LocalDateTime in v1 (treated as UTC). */
  received: string | null;
  messageBody: string | null;
}

export type CtcPayload = V2MessageReceived | V2SubmissionNotification | V1MessageNotification;

export interface PayloadError {
  code: 'UNKNOWN_PAYLOAD' | 'INVALID_PAYLOAD' | 'UNSAFE_MESSAGE_URI';
  message: string;
}

export type PayloadResult = { ok: true; payload: CtcPayload } | { ok: false; error: PayloadError };

const invalid = (message: string): PayloadResult => ({
  ok: false,
  error: { code: 'INVALID_PAYLOAD', message },
});

const optionalString = (value: unknown): string | null =>
  typeof value === 'string' && value.length > 0 ? value : null;

/** Parses the envelope's `message` (a JSON string or an object) into a CTC payload. */
export function parseCtcPayload(message: string | Record<string, unknown>): PayloadResult {
  let value: unknown = message;
  if (typeof message === 'string') {
    try {
      value = JSON.parse(message);
    } catch {
      return {
        ok: false,
        error: {
          code: 'UNKNOWN_PAYLOAD',
          message: 'message is not JSON (expected a CTC notification)',
        },
      };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      error: { code: 'UNKNOWN_PAYLOAD', message: 'message is not a JSON object' },
    };
  }
  const record = value as Record<string, unknown>;
  const unstorable = unstorableField(record);
  if (unstorable !== undefined)
    return invalid(
      `${unstorable.path} holds ${unstorable.what}, which PostgreSQL cannot store: the message ` +
        'cannot be a CTC notification',
    );

  const departureId = optionalString(record.departureId);
  const arrivalId = optionalString(record.arrivalId);
  const looksV1 = 'requestId' in record || 'customerId' in record || 'received' in record;
  const looksV2 =
    'notificationType' in record ||
    'enrollmentEORINumber' in record ||
    'enrollementEORINumber' in record;
  if (
    record.messageUri === undefined ||
    (departureId === null && arrivalId === null) ||
    (!looksV1 && !looksV2 && record.messageId === undefined)
  ) {
    return {
      ok: false,
      error: {
        code: 'UNKNOWN_PAYLOAD',
        message:
          'message matches neither the CTC v2 nor the v1 notification (needs messageUri and departureId or arrivalId)',
      },
    };
  }
  if (departureId !== null && arrivalId !== null)
    return invalid('message has both departureId and arrivalId');

  const uri = parseMessageUri(record.messageUri);
  if (uri === undefined) {
    return {
      ok: false,
      error: {
        code: 'UNSAFE_MESSAGE_URI',
        message:
          'messageUri must be a path /customs/transits/movements/{departures|arrivals}/{id}/messages/{id}',
      },
    };
  }
  const movementType: MovementType = departureId !== null ? 'departure' : 'arrival';
  const movementId = (departureId ?? arrivalId) as string;
  const check = consistent(uri, movementType, movementId, optionalString(record.messageId));
  if (check !== undefined) return invalid(check);

  const messageBody = record.messageBody;
  if (messageBody !== undefined && messageBody !== null && typeof messageBody !== 'string') {
    return invalid('messageBody must be a string');
  }
  const base: PayloadBase = {
    movementType,
    movementId,
    messageId: uri.messageId,
    messageUri: record.messageUri as string,
    movementPath: uri.movementPath,
    eori: null,
    messageType: normaliseMessageType(record.messageType),
  };

  const idProblem = unservableIds(looksV1 && !looksV2 ? 'v1' : 'v2', movementId, uri.messageId);
  if (idProblem !== undefined) return invalid(idProblem);

  if (looksV1 && !looksV2) {
    return {
      ok: true,
      payload: {
        ...base,
        version: 'v1',
        notificationType: 'MESSAGE_RECEIVED',
        eori: optionalString(record.customerId),
        requestId: optionalString(record.requestId),
        received: optionalString(record.received),
        messageBody: optionalString(messageBody),
      },
    };
  }

  const eori =
    optionalString(record.enrollmentEORINumber) ?? optionalString(record.enrollementEORINumber);
  const notificationType = record.notificationType ?? 'MESSAGE_RECEIVED';
  if (notificationType === 'MESSAGE_RECEIVED') {
    return {
      ok: true,
      payload: {
        ...base,
        version: 'v2',
        notificationType,
        eori,
        messageBody: optionalString(messageBody),
      },
    };
  }
  if (notificationType === 'SUBMISSION_NOTIFICATION') {
    const response = record.response;
    if (typeof response !== 'object' || response === null || Array.isArray(response)) {
      return invalid('SUBMISSION_NOTIFICATION needs a response object');
    }
    const { code, message: text, validationErrors } = response as Record<string, unknown>;
    if (typeof code !== 'string') return invalid('response.code must be a string');
    return {
      ok: true,
      payload: {
        ...base,
        version: 'v2',
        notificationType,
        eori,
        response: {
          code,
          message: typeof text === 'string' ? text : null,
          validationErrors: Array.isArray(validationErrors) ? validationErrors : null,
        },
      },
    };
  }
  return {
    ok: false,
    error: {
      code: 'UNKNOWN_PAYLOAD',
      message: `notificationType ${JSON.stringify(notificationType).slice(0, 60)} is not known`,
    },
  };
}

/** An unpaired UTF-16 surrogate (JSON `"\ud800"`): jsonb refuses it, text would get U+FFFD. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The first string (key or value) anywhere in the payload that PostgreSQL would refuse: U+0000
 * (text and jsonb) or an unpaired surrogate (jsonb). Such a payload cannot be stored as a
 * notification nor even quarantined with its fields (the EORI column would refuse it as well),
 * so it is refused here, by name. Walked with an explicit stack: the payload's depth is the
 * sender's choice.
 */
function unstorableField(
  record: Record<string, unknown>,
): { path: string; what: string } | undefined {
  const problem = (text: string) =>
    text.includes('\0') ? 'U+0000' : loneSurrogate.test(text) ? 'an unpaired surrogate' : undefined;
  const pending: [unknown, string][] = [[record, 'message']];
  while (pending.length > 0) {
    const [value, path] = pending.pop()!;
    if (typeof value === 'string') {
      const what = problem(value);
      if (what !== undefined) return { path, what };
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push([item, `${path}[${index}]`]));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const what = problem(key);
        if (what !== undefined) return { path: `a key of ${path}`, what };
        pending.push([item, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}

/**
 * Ids in the forms the read API serves, so nothing is stored that no client could read back:
 * CTC 2.x/3.0 ids are 16 lower-case hex characters (HMRC's path binder refuses anything else,
 * and so do our HMRC-compatible routes); API 1.0 ids were small decimal numbers (read through
 * the /v1 movement views).
 */
const servableId = { v2: /^[0-9a-f]{16}$/, v1: /^[0-9]{1,16}$/ } as const;

function unservableIds(version: 'v1' | 'v2', movementId: string, messageId: string) {
  const pattern = servableId[version];
  const form =
    version === 'v2' ? '16 lower-case hexadecimal characters' : 'a decimal number (API 1.0)';
  if (!pattern.test(movementId)) return `the movement id ${movementId} is not ${form}`;
  if (!pattern.test(messageId)) return `the message id ${messageId} is not ${form}`;
  return undefined;
}

function consistent(
  uri: MessageUriParts,
  movementType: MovementType,
  movementId: string,
  messageId: string | null,
) {
  if (uri.movementType !== movementType)
    return `messageUri is for ${uri.movementType}s but the message names a ${movementType}`;
  if (uri.movementId !== movementId)
    return 'messageUri names another movement than departureId/arrivalId';
  if (messageId !== null && uri.messageId !== messageId)
    return 'messageUri names another message than messageId';
  return undefined;
}

/** `IE028`, `ie028` and `CC028C` all mean IE028; anything else is kept as sent (trimmed). */
function normaliseMessageType(value: unknown): string | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const text = value.trim().toUpperCase();
  const ie = /^IE(\d{3})$/.exec(text);
  if (ie !== null) return `IE${ie[1]}`;
  const cc = /^CC(\d{3})[A-C]$/.exec(text);
  if (cc !== null) return `IE${cc[1]}`;
  return text.slice(0, 16);
}
