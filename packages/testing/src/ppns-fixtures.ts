import { randomUUID } from 'node:crypto';
import { formatPpnsDateTime, signPayload } from '@ctc-hub/ppns';

export const testBoxId = '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e';
export const testPushSecret = 'TESTPUSHSECRET000000000000000000';

export interface EnvelopeOptions {
  notificationId?: string;
  boxId?: string;
  /** The CTC payload; serialised to a JSON string as PPNS does unless `messageAsObject`. */
  message?: Record<string, unknown> | string;
  messageAsObject?: boolean;
  createdAt?: Date;
  status?: string;
}

/** A v2 MESSAGE_RECEIVED payload (reference §2.2), in the producer's field order. */
export function v2MessageReceived(options: {
  movementType?: 'departure' | 'arrival';
  movementId: string;
  messageId: string;
  messageType?: string;
  eori?: string | null;
  messageBody?: string | null;
}): Record<string, unknown> {
  const collection = options.movementType === 'arrival' ? 'arrivals' : 'departures';
  const payload: Record<string, unknown> = {
    messageUri: `/customs/transits/movements/${collection}/${options.movementId}/messages/${options.messageId}`,
    notificationType: 'MESSAGE_RECEIVED',
    messageId: options.messageId,
  };
  if (options.eori !== null) payload.enrollmentEORINumber = options.eori ?? 'GB123456789000';
  payload[options.movementType === 'arrival' ? 'arrivalId' : 'departureId'] = options.movementId;
  if (options.messageType !== undefined) payload.messageType = options.messageType;
  if (options.messageBody !== undefined && options.messageBody !== null)
    payload.messageBody = options.messageBody;
  return payload;
}

/** A PPNS envelope as the JSON text PPNS would POST. */
export function ppnsEnvelope(options: EnvelopeOptions = {}): string {
  const message = options.message ?? { hello: 'world' };
  return JSON.stringify({
    notificationId: options.notificationId ?? randomUUID(),
    boxId: options.boxId ?? testBoxId,
    messageContentType: 'application/json',
    message:
      typeof message === 'string' || options.messageAsObject === true
        ? message
        : JSON.stringify(message),
    status: options.status ?? 'PENDING',
    createdDateTime: formatPpnsDateTime(options.createdAt ?? new Date()),
  });
}

/** POSTs a body to a PPNS callback the way PPNS does (signed unless `secret` is null). */
export async function pushToCallback(
  url: string,
  body: string | Buffer,
  {
    secret = testPushSecret as string | null,
    contentType = 'application/json',
    headers = {} as Record<string, string>,
  } = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      ...(secret !== null ? { 'x-hub-signature': signPayload(secret, body) } : {}),
      ...headers,
    },
    body,
  });
}

export const hex16 = (): string => randomUUID().replace(/-/g, '').slice(0, 16);
