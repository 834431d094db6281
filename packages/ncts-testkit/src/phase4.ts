import { mrnCheckDigit, randomString, type RandomSource } from './ids.js';
import { XmlWriter } from './xml.js';

/**
 * Builders of NCTS phase 4 messages, the ones CTC Traders API 1.0 (retired) carried: no
 * namespace, EDIFACT-style element names (HEAHEA/RefNumHEA4), roots ending A or B (reference
 * §4.2). No phase 4 XSDs ship with the project, so these follow the shape of HMRC's published
 * example (a test fixture: packages/testing/fixtures/ncts/examples/phase4/cc015b-example.xml) and
 * use the element names parseNctsMessage reads; they are realistic, not schema-checked. Used by
 * the sandbox's v1 simulation and by tests.
 */

/** The phase 4 messages built here: trader → NCTS, and NCTS's answers. */
export const phase4MessageRoots = {
  CC007A: 'Arrival Notification (trader)',
  CC008A: 'Arrival Rejection',
  CC009A: 'Cancellation Decision',
  CC014A: 'Declaration Cancellation Request (trader)',
  CC015B: 'Declaration Data (trader)',
  CC016A: 'Declaration Rejection',
  CC025A: 'Goods Release Notification',
  CC028A: 'MRN Allocated',
  CC029B: 'Release For Transit',
  CC043A: 'Unloading Permission',
  CC044A: 'Unloading Remarks (trader)',
  CC051B: 'No Release For Transit',
  CC058A: 'Unloading Remarks Rejection',
  CC060A: 'Control Decision Notification',
} as const;

export type Phase4Root = keyof typeof phase4MessageRoots;

export function isPhase4Root(value: string): value is Phase4Root {
  return Object.hasOwn(phase4MessageRoots, value);
}

/** One FUNERRER1 group of a phase 4 rejection (CC008A, CC016A, CC058A). */
export interface Phase4FunctionalError {
  /** ErrTypER11, e.g. 12 (codelist), 13 (missing), 14 (rule), 15 (not allowed). */
  errorType: string;
  /** ErrPoiER12, e.g. HEA(1).DocNumHEA5. */
  errorPointer: string;
  /** ErrReaER13, the rule or condition, e.g. R001. */
  errorReason?: string;
  /** OriAttValER14. */
  originalAttributeValue?: string;
}

/**
 * Everything optional; defaults describe a GB → IT transit like HMRC's example. Pass the same
 * lrn/mrn/eori to every message of a movement so the set is consistent.
 */
export interface Phase4Params {
  lrn?: string;
  mrn?: string;
  /** Principal (departures) or trader at destination (arrivals). */
  eori?: string;
  traderName?: string;
  /** CUSOFFDEPEPT/RefNumEPT1. */
  officeOfDeparture?: string;
  /** CUSOFFDESEST/RefNumEST1 (departures) or CUSOFFPREOFFRES/RefNumRES1 (arrivals). */
  officeOfDestination?: string;
  /** MesIdeMES19, an..14. */
  messageIdentification?: string;
  /** CorIdeMES25: NCTS answers carry the MesIdeMES19 of the trader message; null omits it. */
  correlationIdentifier?: string | null;
  preparedAt?: Date;
  /** GOOITEGDS groups of CC015B, CC029B, CC043A, CC025A; 1..999. Default 1. */
  goodsItemCount?: number;
  /** CC016A, CC008A, CC058A. */
  rejectionReason?: string;
  functionalErrors?: Phase4FunctionalError[];
  /** CC009A: true (default) = cancellation accepted. */
  cancellationAccepted?: boolean;
  random?: RandomSource;
}

const upperAlphanumerics = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const digits = '0123456789';

/**
 * A phase 4 MRN: yy + country + 13 alphanumerics + check digit (18 characters, the same ISO 6346
 * check digit as phase 5 but no procedure letter).
 */
export function generatePhase4Mrn(
  options: { country?: string; year?: number; random?: RandomSource } = {},
): string {
  const random = options.random ?? Math.random;
  const year = String((options.year ?? new Date().getUTCFullYear()) % 100).padStart(2, '0');
  const country = (options.country ?? 'GB').toUpperCase().slice(0, 2);
  const first17 = `${year}${country}${randomString(random, upperAlphanumerics, 13)}`;
  return `${first17}${mrnCheckDigit(first17)}`;
}

/** Phase 4 date CCYYMMDD (UTC). */
export function formatPhase4Date(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}

/** Phase 4 time HHMM (UTC). */
function formatPhase4Time(date: Date): string {
  return date.toISOString().slice(11, 16).replace(':', '');
}

interface Resolved {
  lrn: string;
  mrn: string;
  eori: string;
  traderName: string;
  officeOfDeparture: string;
  officeOfDestination: string;
  messageIdentification: string;
  correlationIdentifier: string | null | undefined;
  preparedAt: Date;
  goodsItemCount: number;
  random: RandomSource;
}

function resolve(params: Phase4Params, arrival: boolean): Resolved {
  const random = params.random ?? Math.random;
  return {
    lrn: params.lrn ?? `LRN${randomString(random, upperAlphanumerics, 12)}`,
    mrn: params.mrn ?? generatePhase4Mrn({ random }),
    eori: params.eori ?? 'GB954131533000',
    traderName: params.traderName ?? 'NCTS UK TEST LAB HMCE',
    officeOfDeparture: params.officeOfDeparture ?? 'GB000060',
    officeOfDestination: params.officeOfDestination ?? (arrival ? 'GB000060' : 'IT018105'),
    messageIdentification: params.messageIdentification ?? randomString(random, digits, 14),
    correlationIdentifier: params.correlationIdentifier,
    preparedAt: params.preparedAt ?? new Date(),
    goodsItemCount: Math.min(999, Math.max(1, params.goodsItemCount ?? 1)),
    random,
  };
}

/**
 * Root and the flat MES header. Trader messages go to "NCTS" and carry no MesSenMES3 (HMRC's v1
 * API filled it in, as in the published example); NCTS answers come from NCTS to the trader, with
 * the country where the root has CC in MesTypMES20 (NCTS wrote GB028A for CC028A).
 */
function start(root: Phase4Root, inbound: boolean, p: Resolved): XmlWriter {
  const writer = new XmlWriter().open(root);
  writer
    .leaf('SynIdeMES1', 'UNOC')
    .leaf('SynVerNumMES2', '3')
    .leaf('MesSenMES3', inbound ? 'NCTS' : undefined)
    .leaf('MesRecMES6', inbound ? p.eori : 'NCTS')
    .leaf('DatOfPreMES9', formatPhase4Date(p.preparedAt))
    .leaf('TimOfPreMES10', formatPhase4Time(p.preparedAt))
    .leaf('IntConRefMES11', randomString(p.random, upperAlphanumerics, 12))
    .leaf('AppRefMES14', 'NCTS')
    .leaf('MesIdeMES19', p.messageIdentification)
    .leaf('MesTypMES20', inbound ? `GB${root.slice(2)}` : root);
  const correlation =
    p.correlationIdentifier === undefined
      ? inbound
        ? randomString(p.random, digits, 14)
        : undefined
      : p.correlationIdentifier;
  return writer.leaf('CorIdeMES25', correlation);
}

const finish = (writer: XmlWriter, root: Phase4Root): string => writer.close(root).toString();

function principal(writer: XmlWriter, p: Resolved): void {
  writer.group('TRAPRIPC1', {
    NamPC17: p.traderName,
    StrAndNumPC122: '11TH FLOOR, ALEX HOUSE, VICTORIA AV',
    PosCodPC123: 'SS99 1AA',
    CitPC124: 'SOUTHEND-ON-SEA, ESSEX',
    CouPC125: p.eori.slice(0, 2),
    TINPC159: p.eori,
  });
}

function consignorAndConsignee(writer: XmlWriter, p: Resolved): void {
  writer.group('TRACONCO1', {
    NamCO17: p.traderName,
    StrAndNumCO122: '11TH FLOOR, ALEX HOUSE, VICTORIA AV',
    PosCodCO123: 'SS99 1AA',
    CitCO124: 'SOUTHEND-ON-SEA, ESSEX',
    CouCO125: 'GB',
    TRACONCO1LNG: 'EN',
    TINCO159: p.eori,
  });
  writer.group('TRACONCE1', {
    NamCE17: 'Corleone',
    StrAndNumCE122: '23, Le Don str',
    PosCodCE123: '123-456',
    CitCE124: 'Corleone',
    CouCE125: p.officeOfDestination.slice(0, 2),
    TINCE159: 'IT27THEBOSS42',
  });
}

function traderAtDestination(writer: XmlWriter, p: Resolved): void {
  writer.group('TRADESTRD', {
    NamTRD7: p.traderName,
    StrAndNumTRD22: '14 Dock Road',
    PosCodTRD23: 'CT16 1JA',
    CitTRD24: 'Dover',
    CouTRD25: 'GB',
    NADLNGRD: 'EN',
    TINTRD59: p.eori,
  });
}

const officeOfDeparture = (writer: XmlWriter, p: Resolved) =>
  writer.group('CUSOFFDEPEPT', { RefNumEPT1: p.officeOfDeparture });
const officeOfPresentation = (writer: XmlWriter, p: Resolved) =>
  writer.group('CUSOFFPREOFFRES', { RefNumRES1: p.officeOfDestination });

function goodsItems(writer: XmlWriter, p: Resolved, withPackages = true): void {
  for (let item = 1; item <= p.goodsItemCount; item += 1) {
    writer
      .open('GOOITEGDS')
      .leaf('IteNumGDS7', item)
      .leaf('GooDesGDS23', item % 2 === 1 ? 'Daffodils' : 'Tulips')
      .leaf('GooDesGDS23LNG', 'EN')
      .leaf('GroMasGDS46', 1000)
      .leaf('NetMasGDS48', 950);
    if (withPackages) {
      writer.group('PACGS2', {
        MarNumOfPacGS21: `AB${String(233 + item)}`,
        KinOfPacGS23: 'BX',
        NumOfPacGS24: 10,
      });
    }
    writer.close('GOOITEGDS');
  }
}

function totals(writer: XmlWriter, p: Resolved): void {
  writer
    .leaf('TotNumOfIteHEA305', p.goodsItemCount)
    .leaf('TotNumOfPacHEA306', 10 * p.goodsItemCount)
    .leaf('TotGroMasHEA307', 1000 * p.goodsItemCount);
}

function functionalErrors(writer: XmlWriter, errors: Phase4FunctionalError[]): void {
  for (const error of errors) {
    writer.group('FUNERRER1', {
      ErrTypER11: error.errorType,
      ErrPoiER12: error.errorPointer,
      ErrReaER13: error.errorReason,
      OriAttValER14: error.originalAttributeValue,
    });
  }
}

/** CC015B Declaration Data, shaped like HMRC's published example. */
export function buildCC015B(params: Phase4Params = {}): string {
  const p = resolve(params, false);
  const writer = start('CC015B', false, p);
  writer
    .open('HEAHEA')
    .leaf('RefNumHEA4', p.lrn)
    .leaf('TypOfDecHEA24', 'T1')
    .leaf('CouOfDesCodHEA30', p.officeOfDestination.slice(0, 2))
    .leaf('AutLocOfGooCodHEA41', '954131533-GB60DEP')
    .leaf('CouOfDisCodHEA55', p.officeOfDeparture.slice(0, 2))
    .leaf('TraModAtBorHEA76', '3')
    .leaf('IdeOfMeaOfTraCroHEA85', 'NC15REG')
    .leaf('NatOfMeaOfTraCroHEA87', 'GB')
    .leaf('ConIndHEA96', '0')
    .leaf('NCTSAccDocHEA601LNG', 'EN');
  totals(writer, p);
  writer
    .leaf('DecDatHEA383', formatPhase4Date(p.preparedAt))
    .leaf('DecPlaHEA394', 'Dover')
    .leaf('SpeCirIndHEA1', 'C')
    .leaf('ComRefNumHEA', 'HQDOV001')
    .leaf('SecHEA358', '1')
    .leaf('CodPlUnHEA357', 'MONOPOLI001')
    .close('HEAHEA');
  principal(writer, p);
  consignorAndConsignee(writer, p);
  officeOfDeparture(writer, p);
  writer.group('CUSOFFTRARNS', {
    RefNumRNS1: 'FR001260',
    ArrTimTRACUS085: `${formatPhase4Date(p.preparedAt)}1200`,
  });
  writer.group('CUSOFFDESEST', { RefNumEST1: p.officeOfDestination });
  writer.group('CONRESERS', {
    ConResCodERS16: 'A3',
    DatLimERS69: formatPhase4Date(new Date(p.preparedAt.getTime() + 8 * 864e5)),
  });
  writer
    .open('SEAINFSLI')
    .leaf('SeaNumSLI2', 1)
    .group('SEAIDSID', { SeaIdeSID1: 'NCTS001' })
    .close('SEAINFSLI');
  writer
    .open('GUAGUA')
    .leaf('GuaTypGUA1', '1')
    .group('GUAREFREF', { GuaRefNumGRNREF1: '09GB00000100000M0', AccCodREF6: 'AC01' })
    .close('GUAGUA');
  goodsItems(writer, p);
  for (const country of [p.officeOfDeparture.slice(0, 2), p.officeOfDestination.slice(0, 2)])
    writer.group('ITI', { CouOfRouCodITI1: country });
  return finish(writer, 'CC015B');
}

/** CC014A Declaration Cancellation Request. */
export function buildCC014A(params: Phase4Params = {}): string {
  const p = resolve(params, false);
  const writer = start('CC014A', false, p);
  writer.group('HEAHEA', {
    DocNumHEA5: p.mrn,
    DatOfCanReqHEA147: formatPhase4Date(p.preparedAt),
    CanReaHEA250: 'Declared in error',
    CanReaHEA250LNG: 'EN',
  });
  principal(writer, p);
  officeOfDeparture(writer, p);
  return finish(writer, 'CC014A');
}

/** CC007A Arrival Notification (simplified procedure: the trader is an authorised consignee). */
export function buildCC007A(params: Phase4Params = {}): string {
  const p = resolve(params, true);
  const writer = start('CC007A', false, p);
  writer.group('HEAHEA', {
    DocNumHEA5: p.mrn,
    ArrNotPlaHEA60: 'Dover',
    ArrNotPlaHEA60LNG: 'EN',
    ArrAgrLocCodHEA62: '954131533-GB60DEP',
    SimProFlaHEA132: '1',
    ArrNotDatHEA141: formatPhase4Date(p.preparedAt),
  });
  traderAtDestination(writer, p);
  officeOfPresentation(writer, p);
  return finish(writer, 'CC007A');
}

/** CC044A Unloading Remarks: unloaded, seals intact, no discrepancies. */
export function buildCC044A(params: Phase4Params = {}): string {
  const p = resolve(params, true);
  const writer = start('CC044A', false, p);
  writer.open('HEAHEA').leaf('DocNumHEA5', p.mrn);
  totals(writer, p);
  writer.close('HEAHEA');
  traderAtDestination(writer, p);
  officeOfPresentation(writer, p);
  writer.group('UNLREMREM', {
    StaOfTheSeaOKREM19: '1',
    UnlRemREM53: 'All goods unloaded',
    UnlRemREM53LNG: 'EN',
    ConREM65: '1',
    UnlComREM66: '1',
    UnlDatREM67: formatPhase4Date(p.preparedAt),
  });
  return finish(writer, 'CC044A');
}

/** CC016A Declaration Rejection (phase 5: IE056 with businessRejectionType 015). */
export function buildCC016A(params: Phase4Params = {}): string {
  const p = resolve(params, false);
  const writer = start('CC016A', true, p);
  writer.group('HEAHEA', {
    RefNumHEA4: p.lrn,
    TypOfDecHEA24: 'T1',
    DecRejDatHEA159: formatPhase4Date(p.preparedAt),
    DecRejReaHEA252: params.rejectionReason ?? 'Declaration rejected: functional errors',
  });
  principal(writer, p);
  officeOfDeparture(writer, p);
  functionalErrors(
    writer,
    params.functionalErrors ?? [
      { errorType: '14', errorPointer: 'HEA(1).RefNumHEA4', errorReason: 'R001' },
    ],
  );
  return finish(writer, 'CC016A');
}

/** CC028A MRN Allocated. */
export function buildCC028A(params: Phase4Params = {}): string {
  const p = resolve(params, false);
  const writer = start('CC028A', true, p);
  writer.group('HEAHEA', {
    RefNumHEA4: p.lrn,
    DocNumHEA5: p.mrn,
    AccDatHEA158: formatPhase4Date(p.preparedAt),
  });
  principal(writer, p);
  officeOfDeparture(writer, p);
  return finish(writer, 'CC028A');
}

/** CC029B Release For Transit. */
export function buildCC029B(params: Phase4Params = {}): string {
  const p = resolve(params, false);
  const writer = start('CC029B', true, p);
  writer
    .open('HEAHEA')
    .leaf('RefNumHEA4', p.lrn)
    .leaf('DocNumHEA5', p.mrn)
    .leaf('TypOfDecHEA24', 'T1')
    .leaf('CouOfDesCodHEA30', p.officeOfDestination.slice(0, 2))
    .leaf('CouOfDisCodHEA55', p.officeOfDeparture.slice(0, 2))
    .leaf('ConIndHEA96', '0')
    .leaf('AccDatHEA158', formatPhase4Date(p.preparedAt))
    .leaf('IssDatHEA186', formatPhase4Date(p.preparedAt));
  totals(writer, p);
  writer.leaf('BinItiHEA246', '0').leaf('SecHEA358', '1').close('HEAHEA');
  principal(writer, p);
  consignorAndConsignee(writer, p);
  officeOfDeparture(writer, p);
  writer.group('CUSOFFDESEST', { RefNumEST1: p.officeOfDestination });
  writer.group('CONRESERS', {
    ConResCodERS16: 'A3',
    DatLimERS69: formatPhase4Date(new Date(p.preparedAt.getTime() + 8 * 864e5)),
  });
  writer
    .open('GUAGUA')
    .leaf('GuaTypGUA1', '1')
    .group('GUAREFREF', { GuaRefNumGRNREF1: '09GB00000100000M0' })
    .close('GUAGUA');
  goodsItems(writer, p);
  return finish(writer, 'CC029B');
}

/** CC009A Cancellation Decision: accepted unless cancellationAccepted is false. */
export function buildCC009A(params: Phase4Params = {}): string {
  const p = resolve(params, false);
  const accepted = params.cancellationAccepted ?? true;
  const writer = start('CC009A', true, p);
  writer.group('HEAHEA', {
    DocNumHEA5: p.mrn,
    CanDecHEA93: accepted ? '1' : '0',
    DatOfCanReqHEA147: formatPhase4Date(p.preparedAt),
    CanIniByCusHEA94: '0',
    DatOfCanDecHEA146: formatPhase4Date(p.preparedAt),
    CanJusHEA248: accepted ? undefined : 'Goods already released for transit',
  });
  principal(writer, p);
  officeOfDeparture(writer, p);
  return finish(writer, 'CC009A');
}

/** CC051B No Release For Transit. */
export function buildCC051B(params: Phase4Params = {}): string {
  const p = resolve(params, false);
  const writer = start('CC051B', true, p);
  writer.group('HEAHEA', {
    RefNumHEA4: p.lrn,
    DocNumHEA5: p.mrn,
    TypOfDecHEA24: 'T1',
    NoRelMotHEA272: 'Guarantee not sufficient',
    NoRelMotHEA272LNG: 'EN',
    DecDatHEA383: formatPhase4Date(p.preparedAt),
  });
  principal(writer, p);
  officeOfDeparture(writer, p);
  return finish(writer, 'CC051B');
}

/** CC060A Control Decision Notification. */
export function buildCC060A(params: Phase4Params = {}): string {
  const p = resolve(params, false);
  const writer = start('CC060A', true, p);
  writer.group('HEAHEA', {
    RefNumHEA4: p.lrn,
    DocNumHEA5: p.mrn,
    DatOfConNotHEA148: formatPhase4Date(p.preparedAt),
  });
  principal(writer, p);
  officeOfDeparture(writer, p);
  writer.group('CTLCTL', { CtlDecCodHEA: 'A1' });
  return finish(writer, 'CC060A');
}

/** CC008A Arrival Rejection (phase 5: IE057 with businessRejectionType 007). */
export function buildCC008A(params: Phase4Params = {}): string {
  const p = resolve(params, true);
  const writer = start('CC008A', true, p);
  writer.group('HEAHEA', {
    DocNumHEA5: p.mrn,
    ArrRejDatHEA142: formatPhase4Date(p.preparedAt),
    ArrRejReaHEA242: params.rejectionReason ?? 'Unknown MRN',
  });
  traderAtDestination(writer, p);
  officeOfPresentation(writer, p);
  functionalErrors(
    writer,
    params.functionalErrors ?? [
      {
        errorType: '90',
        errorPointer: 'HEA(1).DocNumHEA5',
        originalAttributeValue: p.mrn,
      },
    ],
  );
  return finish(writer, 'CC008A');
}

/** CC043A Unloading Permission. */
export function buildCC043A(params: Phase4Params = {}): string {
  const p = resolve(params, true);
  const writer = start('CC043A', true, p);
  writer
    .open('HEAHEA')
    .leaf('DocNumHEA5', p.mrn)
    .leaf('TypOfDecHEA24', 'T1')
    .leaf('CouOfDesCodHEA30', p.officeOfDestination.slice(0, 2))
    .leaf('CouOfDisCodHEA55', p.officeOfDeparture.slice(0, 2))
    .leaf('AccDatHEA158', formatPhase4Date(p.preparedAt));
  totals(writer, p);
  writer.close('HEAHEA');
  principal(writer, p);
  traderAtDestination(writer, p);
  officeOfDeparture(writer, p);
  officeOfPresentation(writer, p);
  writer
    .open('SEAINFSLI')
    .leaf('SeaNumSLI2', 1)
    .group('SEAIDSID', { SeaIdeSID1: 'NCTS001' })
    .close('SEAINFSLI');
  goodsItems(writer, p);
  return finish(writer, 'CC043A');
}

/** CC025A Goods Release Notification. */
export function buildCC025A(params: Phase4Params = {}): string {
  const p = resolve(params, true);
  const writer = start('CC025A', true, p);
  writer.open('HEAHEA').leaf('DocNumHEA5', p.mrn);
  totals(writer, p);
  writer.leaf('GooRelDatHEA176', formatPhase4Date(p.preparedAt)).close('HEAHEA');
  traderAtDestination(writer, p);
  officeOfPresentation(writer, p);
  goodsItems(writer, p, false);
  return finish(writer, 'CC025A');
}

/** CC058A Unloading Remarks Rejection. */
export function buildCC058A(params: Phase4Params = {}): string {
  const p = resolve(params, true);
  const writer = start('CC058A', true, p);
  writer.group('HEAHEA', {
    DocNumHEA5: p.mrn,
    UnlRemRejDatHEA218: formatPhase4Date(p.preparedAt),
    UnlRemRejReaHEA280: params.rejectionReason ?? 'Unloading remarks rejected',
  });
  traderAtDestination(writer, p);
  officeOfPresentation(writer, p);
  functionalErrors(
    writer,
    params.functionalErrors ?? [
      { errorType: '13', errorPointer: 'UNLREMREM(1).UnlDatREM67', errorReason: 'C001' },
    ],
  );
  return finish(writer, 'CC058A');
}

const builders: Record<Phase4Root, (params: Phase4Params) => string> = {
  CC007A: buildCC007A,
  CC008A: buildCC008A,
  CC009A: buildCC009A,
  CC014A: buildCC014A,
  CC015B: buildCC015B,
  CC016A: buildCC016A,
  CC025A: buildCC025A,
  CC028A: buildCC028A,
  CC029B: buildCC029B,
  CC043A: buildCC043A,
  CC044A: buildCC044A,
  CC051B: buildCC051B,
  CC058A: buildCC058A,
  CC060A: buildCC060A,
};

/** Any phase 4 message by root, e.g. buildPhase4Message('CC028A', { lrn, mrn }). */
export function buildPhase4Message(root: Phase4Root, params: Phase4Params = {}): string {
  return builders[root](params);
}
