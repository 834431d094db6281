/**
 * The PPNS notification envelope (reference §1.2). Validated by hand rather than with a schema
 * library: it runs on every push on the receiver's hot path, and each failure must name the field.
 */

export type PpnsStatus = 'PENDING' | 'ACKNOWLEDGED' | 'FAILED';

export interface PpnsEnvelope {
  notificationId: string;
  boxId: string;
  messageContentType: string;
  /** PPNS sends a JSON string (escaped JSON); the guide shows an object. Both are accepted. */
  message: string | Record<string, unknown>;
  status: PpnsStatus;
  /** As sent, e.g. 2020-06-01T10:20:23.160+0000. */
  createdDateTime: string;
  createdAt: Date;
}

export interface EnvelopeError {
  code: 'INVALID_JSON' | 'INVALID_ENVELOPE';
  /** The offending field, when there is one. */
  field?: string;
  message: string;
}

export type EnvelopeResult =
  { ok: true; envelope: PpnsEnvelope } | { ok: false; error: EnvelopeError };

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const statuses = new Set<string>(['PENDING', 'ACKNOWLEDGED', 'FAILED']);
const contentTypes = new Set<string>(['application/json', 'application/xml']);

/**
 * PPNS writes `uuuu-MM-dd'T'HH:mm:ss.SSSZ` (…160+0000). We also accept `Z` and `±HH:MM` with any
 * number of fraction digits, but a zone is required: a time without one is ambiguous.
 */
const dateTimePattern =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

export function parsePpnsDateTime(value: string): Date | undefined {
  const match = dateTimePattern.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = match;
  const millis = fraction === '' ? '000' : fraction.slice(1, 4).padEnd(3, '0');
  const offset = zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${millis}${offset}`);
  if (Number.isNaN(date.getTime())) return undefined;
  // Reject impossible calendar dates that Date would roll over (2024-02-31).
  if (
    new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).getUTCDate() !== Number(day)
  ) {
    return undefined;
  }
  return date;
}

/** PPNS's own format: 2020-06-01T10:20:23.160+0000 (always UTC). */
export function formatPpnsDateTime(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

const fail = (field: string, message: string): EnvelopeResult => ({
  ok: false,
  error: { code: 'INVALID_ENVELOPE', field, message: `${field} ${message}` },
});

/** Validates an already-parsed JSON value as a PPNS envelope. Unknown fields are ignored. */
export function validateEnvelope(value: unknown): EnvelopeResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      error: { code: 'INVALID_ENVELOPE', message: 'the body must be a JSON object' },
    };
  }
  const record = value as Record<string, unknown>;
  const { notificationId, boxId, messageContentType, message, status, createdDateTime } = record;

  if (typeof notificationId !== 'string' || !uuidPattern.test(notificationId)) {
    return fail('notificationId', 'must be a UUID');
  }
  if (typeof boxId !== 'string' || !uuidPattern.test(boxId)) return fail('boxId', 'must be a UUID');
  if (
    typeof messageContentType !== 'string' ||
    !contentTypes.has(messageContentType.toLowerCase())
  ) {
    return fail('messageContentType', 'must be application/json or application/xml');
  }
  if (typeof message === 'string') {
    if (message.length === 0) return fail('message', 'must not be empty');
  } else if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return fail('message', 'must be a string or a JSON object');
  }
  if (typeof status !== 'string' || !statuses.has(status)) {
    return fail('status', 'must be one of PENDING, ACKNOWLEDGED, FAILED');
  }
  if (typeof createdDateTime !== 'string') {
    return fail('createdDateTime', 'must be a date-time such as 2020-06-01T10:20:23.160+0000');
  }
  const createdAt = parsePpnsDateTime(createdDateTime);
  if (createdAt === undefined) {
    return fail('createdDateTime', 'must be a date-time such as 2020-06-01T10:20:23.160+0000');
  }
  return {
    ok: true,
    envelope: {
      notificationId: notificationId.toLowerCase(),
      boxId: boxId.toLowerCase(),
      messageContentType: messageContentType.toLowerCase(),
      message: message as string | Record<string, unknown>,
      status: status as PpnsStatus,
      createdDateTime,
      createdAt,
    },
  };
}

/** Parses raw envelope bytes (JSON) and validates them. */
export function parseEnvelope(raw: Buffer | string): EnvelopeResult {
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (error) {
    return {
      ok: false,
      error: {
        code: 'INVALID_JSON',
        message: `the body is not valid JSON: ${(error as Error).message}`,
      },
    };
  }
  return validateEnvelope(value);
}
