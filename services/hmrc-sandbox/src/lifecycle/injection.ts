import {
  buildMessage,
  buildMessageOfSize,
  generatedMessageTypes,
  generateLrn,
  generateMrn,
  sizableMessageTypes,
  type GeneratedMessageType,
  type SizableMessageType,
} from '@ctc-hub/ncts-testkit';
import { badRequest } from '../core/errors.js';
import type { RuntimeSettings } from '../core/settings.js';
import {
  hexIdPattern,
  newHexId,
  type Movement,
  type MovementStore,
  type MovementType,
} from '../core/store.js';
import { readXmlInfo } from '../xml/info.js';
import type { Inbound } from './inbound.js';

/**
 * "NCTS sends a message on a movement": shared by the test-support endpoint and
 * controls.injectMessage. Unknown movements are created (a sandbox convenience).
 */

export const defaultEori = 'GB123456789000';
export const eoriPattern = /^[A-Z]{2}[0-9A-Z]{1,15}$/;

export interface GenerateRequest {
  messageType: GeneratedMessageType;
  goodsItemCount?: number;
  /** Target size in bytes (IE015/IE013/IE029/IE043/IE025), grown with goods items. */
  size?: number;
  mrn?: string;
  lrn?: string;
}

export interface InjectInput {
  /** Stored byte-for-byte. */
  xml?: Buffer | string;
  /** Or generated to match the movement. */
  generate?: GenerateRequest;
  /** Owner of an auto-created movement (else from the XML, else GB123456789000). */
  eori?: string;
  /** false: store without a PPNS notification (to exercise reconciliation). */
  push?: boolean;
}

export interface InjectResult {
  movement: Movement;
  messageId: string;
  messageType: string;
  notificationId: string | undefined;
}

export function injectMessage(
  store: MovementStore,
  inbound: Inbound,
  settings: RuntimeSettings,
  type: MovementType,
  movementId: string | undefined,
  input: InjectInput,
): InjectResult {
  const id = movementId ?? newHexId();
  if (!hexIdPattern.test(id))
    throw badRequest(`movementId: Value ${id} is not a 16 character hexadecimal string`);
  let movement = store.get(id);
  if (movement !== undefined && movement.type !== type)
    throw badRequest(`Movement ${id} is not a ${type}`);
  const boxId = settings.boxConfigured ? settings.boxId : undefined;
  let body: Buffer;
  let messageType: string;
  if (input.xml !== undefined) {
    body = Buffer.isBuffer(input.xml) ? input.xml : Buffer.from(input.xml, 'utf8');
    const info = readXmlInfo(body);
    if (info.messageType === undefined)
      throw badRequest('The XML has no NCTS root element (e.g. ncts:CC028C)');
    const recipient = eoriPattern.test(info.messageRecipient ?? '')
      ? info.messageRecipient
      : undefined;
    movement ??= store.create({
      id,
      type,
      enrollmentEori:
        input.eori ?? info.holderEori ?? info.traderAtDestinationEori ?? recipient ?? defaultEori,
      movementEori: info.holderEori ?? info.traderAtDestinationEori,
      lrn: info.lrn,
      mrn: info.mrn,
      boxId,
      officeOfDeparture: info.officeOfDeparture,
      officeOfDestination: info.officeOfDestinationActual ?? info.officeOfDestinationDeclared,
    });
    // A message naming the MRN (IE028 first) allocates it, as NCTS does.
    if (movement.mrn === undefined && info.mrn !== undefined) movement.mrn = info.mrn;
    messageType = info.messageType;
  } else if (input.generate !== undefined) {
    const wanted = input.generate;
    const entry = generatedMessageTypes[wanted.messageType];
    if (entry === undefined) throw badRequest(`cannot generate ${String(wanted.messageType)}`);
    if (entry.movementType !== type)
      throw badRequest(`${wanted.messageType} is not a ${type} message`);
    movement ??= store.create({
      id,
      type,
      enrollmentEori: input.eori ?? defaultEori,
      boxId,
      officeOfDeparture: 'GB000060',
      officeOfDestination: 'XI000142',
    });
    body = Buffer.from(generate(movement, wanted));
    messageType = wanted.messageType;
  } else {
    throw badRequest('xml or messageType is required');
  }
  const { message, notificationId } = inbound.deliver(movement, messageType, body, {
    push: input.push,
  });
  return { movement, messageId: message.id, messageType, notificationId };
}

/** A message consistent with the movement; allocates MRN/LRN on the movement when needed. */
function generate(movement: Movement, wanted: GenerateRequest): string {
  if (wanted.mrn !== undefined) movement.mrn ??= wanted.mrn;
  if (wanted.lrn !== undefined) movement.lrn ??= wanted.lrn;
  if (movement.type === 'departure') movement.lrn ??= generateLrn('LRN');
  // Every message but IE928, IE015 and the IE056 of a declaration names the MRN.
  if (!['IE928', 'IE056', 'IE015'].includes(wanted.messageType)) {
    movement.mrn ??= generateMrn({ country: (movement.officeOfDeparture ?? 'GB').slice(0, 2) });
  }
  const params = {
    mrn: movement.mrn,
    lrn: movement.lrn,
    eori: movement.movementEori,
    officeOfDeparture: movement.officeOfDeparture,
    officeOfDestination: movement.officeOfDestination,
    goodsItemCount: wanted.goodsItemCount,
  };
  try {
    if (wanted.size !== undefined) {
      if (!(sizableMessageTypes as readonly string[]).includes(wanted.messageType)) {
        throw new RangeError(`size is supported for ${sizableMessageTypes.join(', ')}`);
      }
      if (wanted.size > 20_000_000) throw new RangeError('size must be at most 20000000');
      return buildMessageOfSize(wanted.messageType as SizableMessageType, wanted.size, params);
    }
    return buildMessage(wanted.messageType, params);
  } catch (error) {
    if (error instanceof RangeError) throw badRequest(error.message);
    throw error;
  }
}
