import {
  generateLrn,
  generateMessageIdentification,
  generateMrn,
  generateGrn,
  toNctsDateTime,
  type RandomSource,
} from './ids.js';

/** One FunctionalError of an IE056/IE057 (or IE022). */
export interface FunctionalErrorParams {
  /** XPath-like pointer to the offending element, e.g. /CC015C/TransitOperation/LRN. */
  errorPointer: string;
  /** Functional error code (CL from the TIS): 12, 13, 14, 15, 26, 50, 51, 52, 90, 92, 93. */
  errorCode: string;
  /** Rule or condition that failed, an..7, e.g. R0909 or G0005. */
  errorReason: string;
  originalAttributeValue?: string;
}

export interface RejectionParams {
  /** Which message is rejected: '015', '013', '014', '170' (IE056); '007', '044' (IE057). */
  businessRejectionType?: string;
  /** Rejection code, n..2 (e.g. 12 "message with functional errors", 4 "duplicate LRN"). */
  rejectionCode?: string;
  rejectionReason?: string;
  rejectionDateAndTime?: Date | string;
  functionalErrors?: FunctionalErrorParams[];
}

/**
 * What a builder needs to know about the movement. Everything is optional: defaults describe a
 * plausible GB → XI (Great Britain to Northern Ireland) transit. Pass the same mrn/lrn/eori to
 * every message of one movement so the set is consistent.
 */
export interface MessageParams {
  mrn?: string;
  lrn?: string;
  /** Holder of the transit procedure (departures) or trader at destination (arrivals). */
  eori?: string;
  /** Name of that trader. */
  traderName?: string;
  /** Customs office of departure, e.g. GB000060. Its country (GB/XI) picks NTA.GB or NTA.XI. */
  officeOfDeparture?: string;
  /** Office of destination: declared (departures) or actual (arrivals), e.g. XI000142. */
  officeOfDestination?: string;
  messageIdentification?: string;
  /** undefined: a default (NCTS → trader messages carry one); null: omitted. */
  correlationIdentifier?: string | null;
  preparationDateAndTime?: Date | string;
  /** Header overrides; by default the trader's EORI and NTA.GB/NTA.XI as the direction needs. */
  messageSender?: string;
  messageRecipient?: string;
  /** PhaseID attribute; NCTS5.0 by default (what HMRC's examples and validator tests use). */
  phaseId?: 'NCTS5.0' | 'NCTS5.1';
  /** Goods items of IE015/IE013/IE029/IE043/IE025, 1..1999 (rule G0005). Default 2. */
  goodsItemCount?: number;
  /**
   * Extra supporting documents and additional information per goods item (0..98). Used by
   * buildMessageOfSize to reach large sizes within the 1,999 goods items NCTS allows.
   */
  detailsPerItem?: number;
  /** Guarantee of IE015/IE029/IE055. */
  grn?: string;
  accessCode?: string;
  /** IE056 / IE057 rejection details. */
  rejection?: RejectionParams;
  /** IE009: true = invalidation accepted (default), false = refused. */
  invalidationDecision?: boolean;
  /** IE060 notificationType: 0 = intention to control, 1 = documents requested, 2 = control. */
  controlNotificationType?: '0' | '1' | '2';
  /** IE044: whether the unloading conforms (default true). */
  unloadingConform?: boolean;
  /** Seeded source for reproducible output (see createSeededRandom); default Math.random. */
  random?: RandomSource;
}

/** Params with every default filled in; what the builders work from. */
export interface ResolvedParams {
  mrn: string;
  lrn: string;
  eori: string;
  traderName: string;
  officeOfDeparture: string;
  officeOfDestination: string;
  messageIdentification: string;
  correlationIdentifier: string | null | undefined;
  preparationDateAndTime: string;
  now: Date;
  messageSender: string | undefined;
  messageRecipient: string | undefined;
  phaseId: string;
  goodsItemCount: number;
  detailsPerItem: number;
  grn: string;
  accessCode: string;
  rejection: RejectionParams;
  invalidationDecision: boolean;
  controlNotificationType: '0' | '1' | '2';
  unloadingConform: boolean;
  random: RandomSource;
}

export const maxGoodsItems = 1999;

export function resolveParams(params: MessageParams = {}): ResolvedParams {
  const random = params.random ?? Math.random;
  const officeOfDeparture = (params.officeOfDeparture ?? 'GB000060').toUpperCase();
  const goodsItemCount = params.goodsItemCount ?? 2;
  if (!Number.isInteger(goodsItemCount) || goodsItemCount < 1 || goodsItemCount > maxGoodsItems) {
    throw new RangeError(
      `goodsItemCount must be an integer from 1 to ${maxGoodsItems} (rule G0005)`,
    );
  }
  const detailsPerItem = params.detailsPerItem ?? 0;
  if (!Number.isInteger(detailsPerItem) || detailsPerItem < 0 || detailsPerItem > 98) {
    throw new RangeError('detailsPerItem must be an integer from 0 to 98');
  }
  const prepared = params.preparationDateAndTime ?? new Date();
  const now = typeof prepared === 'string' ? new Date(`${prepared}Z`) : prepared;
  return {
    mrn:
      params.mrn ??
      generateMrn({ country: officeOfDeparture.slice(0, 2), random, year: now.getUTCFullYear() }),
    lrn: params.lrn ?? generateLrn('LRN', random),
    eori: params.eori ?? 'GB123456789000',
    traderName: params.traderName ?? 'Northbound Freight Ltd',
    officeOfDeparture,
    officeOfDestination: (params.officeOfDestination ?? 'XI000142').toUpperCase(),
    messageIdentification: params.messageIdentification ?? generateMessageIdentification(random),
    correlationIdentifier: params.correlationIdentifier,
    preparationDateAndTime: toNctsDateTime(prepared),
    now: Number.isNaN(now.getTime()) ? new Date() : now,
    messageSender: params.messageSender,
    messageRecipient: params.messageRecipient,
    phaseId: params.phaseId ?? 'NCTS5.0',
    goodsItemCount,
    detailsPerItem,
    grn: params.grn ?? generateGrn(officeOfDeparture.slice(0, 2), random),
    accessCode: params.accessCode ?? 'AC01',
    rejection: params.rejection ?? {},
    invalidationDecision: params.invalidationDecision ?? true,
    controlNotificationType: params.controlNotificationType ?? '2',
    unloadingConform: params.unloadingConform ?? true,
    random,
  };
}

/** NTA.GB or NTA.XI: the national authority of an office's country (HMRC checks this). */
export function ntaOf(office: string): string {
  return office.startsWith('XI') ? 'NTA.XI' : 'NTA.GB';
}
