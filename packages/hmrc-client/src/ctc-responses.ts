import type { MovementType } from '@ctc-hub/ppns';

/**
 * Typed views of HMRC's JSON responses (reference §3.3, §1.6, §5). Parsers check the fields we
 * rely on and ignore the rest ("subject to change"); a response missing a required field is an
 * `invalid-response`, never a half-filled object.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const idPattern = /^[0-9A-Za-z]{1,32}$/;

/** v2 ids are strings; v1 sent small integers, sometimes as JSON numbers. */
function idOf(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  return typeof text === 'string' && idPattern.test(text) ? text : undefined;
}

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

export function parseJson(body: Buffer): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false, message: 'response is not valid JSON' };
  }
}

export interface UploadRequest {
  /** Where to POST the file (Upscan); not under HMRC_API_BASE_URL. */
  href: string;
  fields: Record<string, string>;
}

export interface SubmissionAccepted {
  movementType: MovementType;
  /** departureId / arrivalId. */
  movementId: string;
  /** Absent only in v1 answers to a new movement. */
  messageId?: string;
  /** The PPNS box the movement's notifications go to; absent when HMRC found none (no push). */
  boxId?: string;
  /**
   * v1 only (`_embedded.notifications.requestId`): the movement path, e.g.
   * /customs/transits/movements/departures/12, which every v1 notification of the movement
   * carries as `requestId`. Present on new movements (with a box) and on follow-ups.
   */
  requestId?: string;
  /** v1 only: the box's name, `customs/transits##1.0##notificationUrl`. */
  boxName?: string;
  /** Large-message route: where to upload the file. */
  uploadRequest?: UploadRequest;
}

export function parseSubmission(
  value: unknown,
  movementType: MovementType,
): Parsed<SubmissionAccepted> {
  if (!isRecord(value)) return { ok: false, message: 'submission response is not a JSON object' };
  const key = movementType === 'departure' ? 'departureId' : 'arrivalId';
  const movementId = idOf(value[key]);
  if (movementId === undefined)
    return { ok: false, message: `submission response has no valid ${key}` };
  const accepted: SubmissionAccepted = { movementType, movementId };
  if (value.messageId !== undefined) {
    const messageId = idOf(value.messageId);
    if (messageId === undefined)
      return { ok: false, message: 'submission response has an invalid messageId' };
    accepted.messageId = messageId;
  }
  const notifications = notificationsOfV1(value);
  const boxId = optionalString(value.boxId) ?? optionalString(notifications?.boxId);
  if (boxId !== undefined) accepted.boxId = boxId;
  const requestId = shortString(notifications?.requestId);
  if (requestId !== undefined) accepted.requestId = requestId;
  const boxName = shortString(notifications?.boxName);
  if (boxName !== undefined) accepted.boxName = boxName;
  if (value.uploadRequest !== undefined) {
    const upload = parseUploadRequest(value.uploadRequest);
    if (!upload.ok) return upload;
    accepted.uploadRequest = upload.value;
  }
  return { ok: true, value: accepted };
}

// v1 embedded the box and the request id as _embedded.notifications.{requestId, boxId, boxName}.
function notificationsOfV1(value: Json): Json | undefined {
  const embedded = value._embedded;
  if (!isRecord(embedded) || !isRecord(embedded.notifications)) return undefined;
  return embedded.notifications;
}

/** Informational strings we keep (and may log or store): bounded, printable. */
const shortString = (value: unknown): string | undefined =>
  typeof value === 'string' &&
  value.length > 0 &&
  value.length <= 300 &&
  /^[\x20-\x7e]+$/.test(value)
    ? value
    : undefined;

function parseUploadRequest(value: unknown): Parsed<UploadRequest> {
  if (!isRecord(value) || typeof value.href !== 'string') {
    return { ok: false, message: 'uploadRequest has no href' };
  }
  const fields: Record<string, string> = {};
  if (value.fields !== undefined) {
    if (!isRecord(value.fields))
      return { ok: false, message: 'uploadRequest.fields is not an object' };
    for (const [name, field] of Object.entries(value.fields)) {
      if (typeof field !== 'string')
        return { ok: false, message: `uploadRequest.fields.${name} is not a string` };
      fields[name] = field;
    }
  }
  return { ok: true, value: { href: value.href, fields } };
}

export interface MovementSummary {
  id: string;
  movementReferenceNumber?: string;
  localReferenceNumber?: string;
  created?: string;
  updated?: string;
  enrollmentEORINumber?: string;
  movementEORINumber?: string;
}

export interface MovementList {
  totalCount: number;
  movements: MovementSummary[];
}

function parseMovement(value: unknown): MovementSummary | undefined {
  if (!isRecord(value)) return undefined;
  const id = idOf(value.id);
  if (id === undefined) return undefined;
  const movement: MovementSummary = { id };
  for (const field of [
    'movementReferenceNumber',
    'localReferenceNumber',
    'created',
    'updated',
    'enrollmentEORINumber',
    'movementEORINumber',
  ] as const) {
    const text = optionalString(value[field]);
    if (text !== undefined) movement[field] = text;
  }
  return movement;
}

/** v2: `{totalCount, departures|arrivals: [...]}`; v1 nested the list in `_embedded`. */
export function parseMovementList(
  value: unknown,
  movementType: MovementType,
): Parsed<MovementList> {
  if (!isRecord(value)) return { ok: false, message: 'movement list is not a JSON object' };
  const key = movementType === 'departure' ? 'departures' : 'arrivals';
  const container = Array.isArray(value[key])
    ? value
    : isRecord(value._embedded)
      ? value._embedded
      : value;
  const items = container[key];
  if (!Array.isArray(items)) return { ok: false, message: `movement list has no ${key} array` };
  const movements: MovementSummary[] = [];
  for (const item of items) {
    const movement = parseMovement(item);
    if (movement === undefined)
      return { ok: false, message: `movement list has an entry without a valid id` };
    movements.push(movement);
  }
  const total = value.totalCount ?? container[`total${key[0]!.toUpperCase()}${key.slice(1)}`];
  return {
    ok: true,
    value: { totalCount: typeof total === 'number' ? total : movements.length, movements },
  };
}

export interface MessageSummary {
  id: string;
  /** e.g. 2022-11-10T15:32:51.459Z */
  received?: string;
  /** IE code, e.g. IE015; omitted by HMRC while a submission is Pending. */
  type?: string;
  /** Received, Pending, Processing, Success, Failed. */
  status?: string;
}

export interface MessageList {
  totalCount: number;
  messages: MessageSummary[];
}

export interface CtcMessage extends MessageSummary {
  /** XML text (`+json-xml`, v1), or the converted JSON object (`+json`). */
  body?: string | Record<string, unknown>;
}

function parseMessageSummary(value: unknown): CtcMessage | undefined {
  if (!isRecord(value)) return undefined;
  // v2 `id`, v1 `messageId`.
  const id = idOf(value.id ?? value.messageId);
  if (id === undefined) return undefined;
  const message: CtcMessage = { id };
  const received = optionalString(value.received);
  if (received !== undefined) message.received = received;
  const type = optionalString(value.type) ?? optionalString(value.messageType);
  if (type !== undefined) message.type = type;
  const status = optionalString(value.status);
  if (status !== undefined) message.status = status;
  if (typeof value.body === 'string' || isRecord(value.body)) message.body = value.body;
  return message;
}

export function parseMessageList(value: unknown): Parsed<MessageList> {
  if (!isRecord(value)) return { ok: false, message: 'message list is not a JSON object' };
  const container = Array.isArray(value.messages)
    ? value
    : isRecord(value._embedded)
      ? value._embedded
      : value;
  const items = container.messages;
  if (!Array.isArray(items)) return { ok: false, message: 'message list has no messages array' };
  const messages: MessageSummary[] = [];
  for (const item of items) {
    const message = parseMessageSummary(item);
    if (message === undefined)
      return { ok: false, message: 'message list has an entry without a valid id' };
    delete message.body;
    messages.push(message);
  }
  const total = value.totalCount;
  return {
    ok: true,
    value: { totalCount: typeof total === 'number' ? total : messages.length, messages },
  };
}

export function parseMessage(value: unknown): Parsed<CtcMessage> {
  const message = parseMessageSummary(value);
  return message === undefined
    ? { ok: false, message: 'message response has no valid id' }
    : { ok: true, value: message };
}

/** The v1 PPNS box of the application (GET /customs/transits/movements/push-pull-notifications/box). */
export interface CtcBox {
  boxId: string;
  /** `customs/transits##1.0##notificationUrl`. */
  boxName: string;
}

const boxIdPattern = /^[0-9A-Za-z-]{1,64}$/;

export function parseBox(value: unknown): Parsed<CtcBox> {
  if (!isRecord(value)) return { ok: false, message: 'box response is not a JSON object' };
  if (typeof value.boxId !== 'string' || !boxIdPattern.test(value.boxId))
    return { ok: false, message: 'box response has no valid boxId' };
  const boxName = shortString(value.boxName);
  if (boxName === undefined) return { ok: false, message: 'box response has no boxName' };
  return { ok: true, value: { boxId: value.boxId, boxName } };
}

export interface GuaranteeBalance {
  balance: number;
  /** ISO 4217, e.g. GBP. HMRC's field is `currency` (not `currencyCode`). */
  currency: string;
}

export function parseGuaranteeBalance(value: unknown): Parsed<GuaranteeBalance> {
  if (!isRecord(value) || typeof value.balance !== 'number' || !Number.isFinite(value.balance)) {
    return { ok: false, message: 'balance response has no numeric balance' };
  }
  if (typeof value.currency !== 'string' || !/^[A-Z]{3}$/.test(value.currency)) {
    return { ok: false, message: 'balance response has no ISO 4217 currency' };
  }
  return { ok: true, value: { balance: value.balance, currency: value.currency } };
}
