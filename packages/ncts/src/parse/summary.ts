import { catalogueByRoot } from '../catalogue.js';
import type { FunctionalError, MessageHeader, MessageSummary, Rejection } from '../types.js';
import type { CapturePlan, ScanCapture } from './scan.js';

/**
 * Builds a MessageSummary from what the scan captured. Phase 5/6 messages have a namespaced root
 * and unqualified, spelled-out children; phase 4 messages (CCnnnA/B) have no namespace and
 * EDIFACT-style names (HEAHEA/RefNumHEA4). The two vocabularies never collide, so one capture plan
 * serves both and the summary takes whichever is present.
 */

export const NCTS_NAMESPACE = 'http://ncts.dgtaxud.ec';

/** Phase 5/6 paths below the root. */
const P5 = {
  messageSender: 'messageSender',
  messageRecipient: 'messageRecipient',
  preparationDateAndTime: 'preparationDateAndTime',
  messageIdentification: 'messageIdentification',
  messageType: 'messageType',
  correlationIdentifier: 'correlationIdentifier',
  lrn: 'TransitOperation/LRN',
  mrn: 'TransitOperation/MRN',
  nackLrn: 'Header/LRN',
  nackMrn: 'Header/MRN',
  declarationAcceptanceDate: 'TransitOperation/declarationAcceptanceDate',
  releaseDate: 'TransitOperation/releaseDate',
  businessRejectionType: 'TransitOperation/businessRejectionType',
  rejectionCode: 'TransitOperation/rejectionCode',
  rejectionReason: 'TransitOperation/rejectionReason',
  rejectionDateAndTime: 'TransitOperation/rejectionDateAndTime',
  officeOfDeparture: 'CustomsOfficeOfDeparture/referenceNumber',
  officeOfDestinationActual: 'CustomsOfficeOfDestinationActual/referenceNumber',
  officeOfDestinationDeclared: 'CustomsOfficeOfDestinationDeclared/referenceNumber',
  holder: 'HolderOfTheTransitProcedure/identificationNumber',
  traderAtDestination: 'TraderAtDestination/identificationNumber',
  invalidationDecision: 'Invalidation/decision',
  functionalError: 'FunctionalError',
  xmlError: 'XMLError',
  goodsItem: 'Consignment/HouseConsignment/ConsignmentItem',
} as const;

/** Phase 4 paths below the root. */
const P4 = {
  messageSender: 'MesSenMES3',
  messageRecipient: 'MesRecMES6',
  preparationDate: 'DatOfPreMES9',
  preparationTime: 'TimOfPreMES10',
  messageIdentification: 'MesIdeMES19',
  messageType: 'MesTypMES20',
  correlationIdentifier: 'CorIdeMES25',
  lrn: 'HEAHEA/RefNumHEA4',
  mrn: 'HEAHEA/DocNumHEA5',
  acceptanceDate: 'HEAHEA/AccDatHEA158',
  cancellationDecision: 'HEAHEA/CanDecHEA93',
  declarationRejectionDate: 'HEAHEA/DecRejDatHEA159',
  declarationRejectionReason: 'HEAHEA/DecRejReaHEA252',
  arrivalRejectionDate: 'HEAHEA/ArrRejDatHEA142',
  arrivalRejectionReason: 'HEAHEA/ArrRejReaHEA242',
  unloadingRejectionDate: 'HEAHEA/UnlRemRejDatHEA218',
  unloadingRejectionReason: 'HEAHEA/UnlRemRejReaHEA280',
  officeOfDeparture: 'CUSOFFDEPEPT/RefNumEPT1',
  officeOfDestination: 'CUSOFFDESEST/RefNumEST1',
  officeOfPresentation: 'CUSOFFPREOFFRES/RefNumRES1',
  principal: 'TRAPRIPC1/TINPC159',
  traderAtDestination: 'TRADESTRD/TINTRD59',
  functionalError: 'FUNERRER1',
  goodsItem: 'GOOITEGDS',
} as const;

export const summaryCapturePlan: CapturePlan = {
  leaves: new Set(
    [...Object.values(P5), ...Object.values(P4)].filter(
      (path) =>
        path !== P5.functionalError &&
        path !== P5.xmlError &&
        path !== P5.goodsItem &&
        path !== P4.functionalError &&
        path !== P4.goodsItem,
    ),
  ),
  groups: new Set([P5.functionalError, P5.xmlError, P4.functionalError]),
  counters: new Set([P5.goodsItem, P4.goodsItem]),
};

/** Which message a phase-4 rejection answers; phase 5 states it in businessRejectionType. */
const phase4RejectedType: Record<string, string | null> = {
  IE016: '015',
  IE008: '007',
  IE058: '044',
  IE917: null,
};

const phase4RootPattern = /^CC\d{3}[AB]$/;

export function buildSummary(capture: ScanCapture, warnings: string[]): MessageSummary {
  const { root, values } = capture;
  const value = (path: string): string | null => values.get(path) ?? null;
  const first = (...paths: string[]): string | null => {
    for (const path of paths) {
      const found = values.get(path);
      if (found !== undefined && found !== '') return found;
    }
    return null;
  };

  const colon = root.qualifiedName.indexOf(':');
  const prefix = colon === -1 ? null : root.qualifiedName.slice(0, colon);
  const rootElement = root.qualifiedName.slice(colon + 1);
  const namespace = root.attributes[prefix === null ? 'xmlns' : `xmlns:${prefix}`] ?? null;
  const entry = catalogueByRoot(rootElement);
  const phase4 = entry
    ? entry.phase4Roots.includes(rootElement)
    : phase4RootPattern.test(rootElement);
  const messageType = entry?.code ?? null;

  if (!entry) warnings.push(`Unknown root element ${rootElement}; stored without a message type`);
  if (!phase4 && entry && namespace !== NCTS_NAMESPACE) {
    warnings.push(`Root element ${rootElement} is not in the namespace ${NCTS_NAMESPACE}`);
  }

  const header: MessageHeader = phase4
    ? {
        messageSender: value(P4.messageSender),
        messageRecipient: value(P4.messageRecipient),
        preparationDateAndTime: phase4DateTime(
          value(P4.preparationDate),
          value(P4.preparationTime),
        ),
        messageIdentification: value(P4.messageIdentification),
        messageType: value(P4.messageType),
        correlationIdentifier: value(P4.correlationIdentifier),
      }
    : {
        messageSender: value(P5.messageSender),
        messageRecipient: value(P5.messageRecipient),
        preparationDateAndTime: value(P5.preparationDateAndTime),
        messageIdentification: value(P5.messageIdentification),
        messageType: value(P5.messageType),
        correlationIdentifier: value(P5.correlationIdentifier),
      };
  checkMessageTypeElement(header.messageType, rootElement, phase4, warnings);

  const goodsItems =
    (capture.counts.get(P5.goodsItem) ?? 0) + (capture.counts.get(P4.goodsItem) ?? 0);

  return {
    rootElement,
    messageType,
    knownType: entry !== undefined,
    phase: phase4 ? 'NCTS4' : (root.attributes.PhaseID ?? null),
    namespace,
    header,
    mrn: first(P5.mrn, P5.nackMrn, P4.mrn),
    lrn: first(P5.lrn, P5.nackLrn, P4.lrn),
    officeOfDeparture: first(P5.officeOfDeparture, P4.officeOfDeparture),
    officeOfDestination: first(
      P5.officeOfDestinationActual,
      P5.officeOfDestinationDeclared,
      P4.officeOfPresentation,
      P4.officeOfDestination,
    ),
    holderEori: first(P5.holder, P4.principal),
    traderAtDestinationEori: first(P5.traderAtDestination, P4.traderAtDestination),
    declarationAcceptanceDate:
      value(P5.declarationAcceptanceDate) ?? phase4Date(value(P4.acceptanceDate)),
    releaseDate: value(P5.releaseDate),
    invalidationDecision:
      messageType === 'IE009'
        ? flag(first(P5.invalidationDecision, P4.cancellationDecision))
        : null,
    rejection: rejectionOf(messageType, phase4, capture),
    goodsItemCount: goodsItems > 0 ? goodsItems : null,
    warnings,
  };
}

function checkMessageTypeElement(
  messageType: string | null,
  rootElement: string,
  phase4: boolean,
  warnings: string[],
): void {
  if (messageType === null) {
    warnings.push('No messageType element');
    return;
  }
  // Phase 4 senders put their country where the root has CC (HMRC sent GB015B for CC015B).
  const matches = phase4
    ? messageType.length === rootElement.length && messageType.slice(2) === rootElement.slice(2)
    : messageType === rootElement;
  if (!matches) {
    warnings.push(
      `messageType element ${messageType} does not match the root element ${rootElement}`,
    );
  }
}

function rejectionOf(
  messageType: string | null,
  phase4: boolean,
  capture: ScanCapture,
): Rejection | null {
  const { values, groups } = capture;
  const value = (path: string): string | null => values.get(path) ?? null;
  if (phase4) {
    if (messageType === null || !(messageType in phase4RejectedType)) return null;
    return {
      businessRejectionType: phase4RejectedType[messageType] ?? null,
      rejectionCode: null,
      rejectionReason:
        value(P4.declarationRejectionReason) ??
        value(P4.arrivalRejectionReason) ??
        value(P4.unloadingRejectionReason),
      rejectionDateAndTime: phase4Date(
        value(P4.declarationRejectionDate) ??
          value(P4.arrivalRejectionDate) ??
          value(P4.unloadingRejectionDate),
      ),
      functionalErrors: (groups.get(P4.functionalError) ?? []).map((error) => ({
        errorPointer: error.ErrPoiER12 ?? null,
        errorCode: error.ErrTypER11 ?? null,
        errorReason: error.ErrReaER13 ?? null,
        originalAttributeValue: error.OriAttValER14 ?? null,
      })),
    };
  }
  switch (messageType) {
    case 'IE056':
    case 'IE057':
      return {
        businessRejectionType: value(P5.businessRejectionType),
        rejectionCode: value(P5.rejectionCode),
        rejectionReason: value(P5.rejectionReason),
        rejectionDateAndTime: value(P5.rejectionDateAndTime),
        functionalErrors: functionalErrors(groups.get(P5.functionalError)),
      };
    case 'IE906':
      return emptyRejection(functionalErrors(groups.get(P5.functionalError)));
    case 'IE917':
      // XMLError locates the problem by line and column; keep that as the pointer when NCTS
      // gives no XPath-like errorPointer.
      return emptyRejection(
        (groups.get(P5.xmlError) ?? []).map((error) => ({
          errorPointer:
            error.errorPointer ??
            (error.errorLineNumber !== undefined
              ? `line ${error.errorLineNumber}, column ${error.errorColumnNumber ?? '?'}`
              : null),
          errorCode: error.errorCode ?? null,
          errorReason: error.errorText ?? null,
          originalAttributeValue: error.originalAttributeValue ?? null,
        })),
      );
    default:
      return null;
  }
}

function emptyRejection(functionalErrorList: FunctionalError[]): Rejection {
  return {
    businessRejectionType: null,
    rejectionCode: null,
    rejectionReason: null,
    rejectionDateAndTime: null,
    functionalErrors: functionalErrorList,
  };
}

function functionalErrors(records: Record<string, string>[] | undefined): FunctionalError[] {
  return (records ?? []).map((error) => ({
    errorPointer: error.errorPointer ?? null,
    errorCode: error.errorCode ?? null,
    errorReason: error.errorReason ?? null,
    originalAttributeValue: error.originalAttributeValue ?? null,
  }));
}

function flag(text: string | null): boolean | null {
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false') return false;
  return null;
}

/** Phase 4 dates are CCYYMMDD (older senders: YYMMDD); ISO form keeps them comparable with phase 5. */
function phase4Date(text: string | null): string | null {
  if (text === null) return null;
  if (/^\d{8}$/.test(text)) return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
  if (/^\d{6}$/.test(text)) return `20${text.slice(0, 2)}-${text.slice(2, 4)}-${text.slice(4, 6)}`;
  return text;
}

function phase4DateTime(date: string | null, time: string | null): string | null {
  if (date === null) return null;
  const isoDate = phase4Date(date);
  if (time === null || !/^\d{4}$/.test(time)) return isoDate;
  return `${isoDate}T${time.slice(0, 2)}:${time.slice(2, 4)}:00`;
}
