import { buildIE025, buildIE043, buildIE057 } from './arrival.js';
import {
  buildIE007,
  buildIE013,
  buildIE014,
  buildIE015,
  buildIE044,
  buildIE170,
} from './declarations.js';
import {
  buildIE004,
  buildIE009,
  buildIE019,
  buildIE022,
  buildIE028,
  buildIE029,
  buildIE035,
  buildIE045,
  buildIE051,
  buildIE055,
  buildIE056,
  buildIE060,
  buildIE182,
  buildIE928,
} from './departure.js';
import type { MessageParams } from './params.js';

/** Every message type the generator can build, with its movement type and direction. */
export const generatedMessageTypes = {
  IE004: { movementType: 'departure', direction: 'inbound', build: buildIE004 },
  IE009: { movementType: 'departure', direction: 'inbound', build: buildIE009 },
  IE019: { movementType: 'departure', direction: 'inbound', build: buildIE019 },
  IE022: { movementType: 'departure', direction: 'inbound', build: buildIE022 },
  IE028: { movementType: 'departure', direction: 'inbound', build: buildIE028 },
  IE029: { movementType: 'departure', direction: 'inbound', build: buildIE029 },
  IE035: { movementType: 'departure', direction: 'inbound', build: buildIE035 },
  IE045: { movementType: 'departure', direction: 'inbound', build: buildIE045 },
  IE051: { movementType: 'departure', direction: 'inbound', build: buildIE051 },
  IE055: { movementType: 'departure', direction: 'inbound', build: buildIE055 },
  IE056: { movementType: 'departure', direction: 'inbound', build: buildIE056 },
  IE060: { movementType: 'departure', direction: 'inbound', build: buildIE060 },
  IE182: { movementType: 'departure', direction: 'inbound', build: buildIE182 },
  IE928: { movementType: 'departure', direction: 'inbound', build: buildIE928 },
  IE025: { movementType: 'arrival', direction: 'inbound', build: buildIE025 },
  IE043: { movementType: 'arrival', direction: 'inbound', build: buildIE043 },
  IE057: { movementType: 'arrival', direction: 'inbound', build: buildIE057 },
  IE015: { movementType: 'departure', direction: 'outbound', build: buildIE015 },
  IE013: { movementType: 'departure', direction: 'outbound', build: buildIE013 },
  IE014: { movementType: 'departure', direction: 'outbound', build: buildIE014 },
  IE170: { movementType: 'departure', direction: 'outbound', build: buildIE170 },
  IE007: { movementType: 'arrival', direction: 'outbound', build: buildIE007 },
  IE044: { movementType: 'arrival', direction: 'outbound', build: buildIE044 },
} as const satisfies Record<
  string,
  {
    movementType: 'departure' | 'arrival';
    direction: 'inbound' | 'outbound';
    build: (params?: MessageParams) => string;
  }
>;

export type GeneratedMessageType = keyof typeof generatedMessageTypes;

export function isGeneratedMessageType(type: string): type is GeneratedMessageType {
  return Object.hasOwn(generatedMessageTypes, type);
}

/** Builds one message of `type` (IE code, e.g. IE028). */
export function buildMessage(type: GeneratedMessageType, params: MessageParams = {}): string {
  const entry = generatedMessageTypes[type];
  if (entry === undefined) throw new RangeError(`cannot generate message type ${String(type)}`);
  return entry.build(params);
}
