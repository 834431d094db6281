import { finishMessage, startMessage, writeHolder, writeOffice } from './common.js';
import { writeDeclarationConsignment } from './goods.js';
import { addDays, formatNctsDate, formatNctsDateTime, toNctsDateTime } from './ids.js';
import { resolveParams, type MessageParams, type ResolvedParams } from './params.js';
import type { XmlWriter } from './xml.js';

/**
 * Builders of NCTS → trader messages of a departure movement (office of departure's answers).
 * Each returns the XML text of one phase 5 message, valid against packages/ncts/xsd/phase5.
 */

const minutesBefore = (params: ResolvedParams, minutes: number) =>
  formatNctsDateTime(new Date(params.now.getTime() - minutes * 60_000));

function simpleDeparture(
  root: string,
  params: ResolvedParams,
  transitOperation: Record<string, string | number | undefined>,
  after?: (writer: XmlWriter) => void,
): string {
  const writer = startMessage(root, 'inbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', transitOperation);
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeHolder(writer, params);
  after?.(writer);
  return finishMessage(writer, root);
}

/** IE928 Positive Acknowledge: NCTS received the declaration (LRN only, no MRN yet). */
export function buildIE928(input: MessageParams = {}): string {
  const params = resolveParams(input);
  return simpleDeparture('CC928C', params, { LRN: params.lrn });
}

/** IE028 MRN Allocated. */
export function buildIE028(input: MessageParams = {}): string {
  const params = resolveParams(input);
  return simpleDeparture('CC028C', params, {
    LRN: params.lrn,
    MRN: params.mrn,
    declarationAcceptanceDate: formatNctsDate(params.now),
  });
}

/** IE004 Amendment Acceptance (answer to an IE013). */
export function buildIE004(input: MessageParams = {}): string {
  const params = resolveParams(input);
  return simpleDeparture('CC004C', params, {
    LRN: params.lrn,
    MRN: params.mrn,
    amendmentSubmissionDateAndTime: minutesBefore(params, 30),
    amendmentAcceptanceDateAndTime: params.preparationDateAndTime,
  });
}

/** IE009 Invalidation Decision (answer to an IE014); `invalidationDecision` picks the outcome. */
export function buildIE009(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC009C', 'inbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', { LRN: params.lrn, MRN: params.mrn });
  writer.group('Invalidation', {
    requestDateAndTime: minutesBefore(params, 45),
    decisionDateAndTime: params.preparationDateAndTime,
    decision: params.invalidationDecision ? '1' : '0',
    initiatedByCustoms: '0',
    justification: params.invalidationDecision
      ? 'Invalidation accepted: goods not presented for departure'
      : 'Invalidation refused: goods already released for transit',
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeHolder(writer, params);
  return finishMessage(writer, 'CC009C');
}

/** IE019 Discrepancies. */
export function buildIE019(input: MessageParams = {}): string {
  const params = resolveParams(input);
  return simpleDeparture('CC019C', params, {
    MRN: params.mrn,
    discrepanciesNotificationDate: formatNctsDate(params.now),
    discrepanciesNotificationText:
      'Seal HMRC0042118 found broken at the office of destination; 2 packages missing',
  });
}

/** IE022 Notification To Amend Declaration. */
export function buildIE022(input: MessageParams = {}): string {
  const params = resolveParams(input);
  return simpleDeparture(
    'CC022C',
    params,
    { MRN: params.mrn, amendmentNotificationDateAndTime: params.preparationDateAndTime },
    (writer) => {
      writer.group('FunctionalError', {
        sequenceNumber: 1,
        errorPointer:
          '/CC015C/Consignment/HouseConsignment[1]/ConsignmentItem[1]/Commodity/GoodsMeasure/grossMass',
        errorCode: '14',
        errorReason: 'R0021',
        originalAttributeValue: '0.5',
      });
    },
  );
}

/** IE029 Release For Transit: the full declaration as accepted, plus MRN and release date. */
export function buildIE029(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC029C', 'inbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    LRN: params.lrn,
    MRN: params.mrn,
    declarationType: 'T1',
    additionalDeclarationType: 'A',
    declarationAcceptanceDate: formatNctsDate(params.now),
    releaseDate: formatNctsDate(params.now),
    security: '0',
    reducedDatasetIndicator: '0',
    bindingItinerary: '0',
  });
  writer.group('Authorisation', {
    sequenceNumber: 1,
    type: 'C521',
    referenceNumber: `${params.officeOfDeparture.slice(0, 2)}ACR${params.eori.slice(2, 10)}`,
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeOffice(writer, 'CustomsOfficeOfDestinationDeclared', params.officeOfDestination);
  writeHolder(writer, params);
  writer.group('ControlResult', {
    code: 'A3',
    date: formatNctsDate(params.now),
    controlledBy: 'Authorised consignor',
    text: 'Simplified procedure, no physical examination',
  });
  writer.open('Guarantee');
  writer.leaf('sequenceNumber', 1);
  writer.leaf('guaranteeType', '1');
  writer.group('GuaranteeReference', {
    sequenceNumber: 1,
    GRN: params.grn,
    accessCode: params.accessCode,
    amountToBeCovered: '25000.00',
    currency: 'GBP',
  });
  writer.close('Guarantee');
  writeDeclarationConsignment(writer, params);
  return finishMessage(writer, 'CC029C');
}

/** IE035 Recovery Notification. */
export function buildIE035(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC035C', 'inbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    MRN: params.mrn,
    declarationAcceptanceDate: formatNctsDate(addDays(params.now, -40)),
  });
  writer.group('RecoveryNotification', {
    recoveryNotificationDate: formatNctsDate(params.now),
    recoveryNotificationText: 'Movement not ended within the time limit; recovery started',
    amountClaimed: '4180.50',
    currency: 'GBP',
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeOffice(writer, 'CustomsOfficeOfRecoveryAtDeparture', params.officeOfDeparture);
  writeHolder(writer, params);
  return finishMessage(writer, 'CC035C');
}

/** IE045 Write-Off Notification: the movement is discharged. */
export function buildIE045(input: MessageParams = {}): string {
  const params = resolveParams(input);
  return simpleDeparture('CC045C', params, {
    MRN: params.mrn,
    writeOffDate: formatNctsDate(params.now),
  });
}

/** IE051 No Release For Transit. */
export function buildIE051(input: MessageParams = {}): string {
  const params = resolveParams(input);
  return simpleDeparture('CC051C', params, {
    MRN: params.mrn,
    declarationSubmissionDateAndTime: minutesBefore(params, 90),
    noReleaseMotivationCode: '03',
    noReleaseMotivationText: 'Goods not released: control results do not allow release for transit',
  });
}

/** IE055 Guarantee Not Valid. */
export function buildIE055(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC055C', 'inbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    MRN: params.mrn,
    declarationAcceptanceDate: formatNctsDate(params.now),
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeHolder(writer, params);
  writer.open('GuaranteeReference');
  writer.leaf('sequenceNumber', 1);
  writer.leaf('GRN', params.grn);
  writer.group('InvalidGuaranteeReason', {
    sequenceNumber: 1,
    code: 'G02',
    text: 'Reference amount exceeded for this guarantee',
  });
  writer.close('GuaranteeReference');
  return finishMessage(writer, 'CC055C');
}

/** IE056 Rejection From Office Of Departure (business rejection of IE015/IE013/IE014/IE170). */
export function buildIE056(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const rejection = params.rejection;
  const type = rejection.businessRejectionType ?? '015';
  const writer = startMessage('CC056C', 'inbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    // A rejected IE015 has no MRN yet; rejections of later messages name the MRN.
    LRN: type === '015' ? params.lrn : undefined,
    MRN: type === '015' ? undefined : params.mrn,
    businessRejectionType: type,
    rejectionDateAndTime: toNctsDateTime(rejection.rejectionDateAndTime ?? params.now),
    rejectionCode: rejection.rejectionCode ?? '12',
    rejectionReason: rejection.rejectionReason,
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeHolder(writer, params);
  writeFunctionalErrors(writer, params, `CC${type}C`);
  return finishMessage(writer, 'CC056C');
}

/** FunctionalError elements of IE056/IE057 (type 04: pointer, code, reason, original value). */
export function writeFunctionalErrors(
  writer: XmlWriter,
  params: ResolvedParams,
  rejectedRoot: string,
  defaultPointer = '/TransitOperation/LRN',
  defaultValue = params.lrn,
): void {
  // Without given errors, one plausible error pointing at the identifying field.
  const errors = params.rejection.functionalErrors ?? [
    {
      errorPointer: `/${rejectedRoot}${defaultPointer}`,
      errorCode: '12',
      errorReason: 'R0909',
      originalAttributeValue: defaultValue,
    },
  ];
  for (const error of errors) {
    writer.group('FunctionalError', {
      errorPointer: error.errorPointer,
      errorCode: error.errorCode,
      errorReason: error.errorReason,
      originalAttributeValue: error.originalAttributeValue,
    });
  }
}

/** IE060 Control Decision Notification. */
export function buildIE060(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC060C', 'inbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    LRN: params.lrn,
    MRN: params.mrn,
    controlNotificationDateAndTime: params.preparationDateAndTime,
    notificationType: params.controlNotificationType,
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeHolder(writer, params);
  writer.group('TypeOfControls', { sequenceNumber: 1, type: 'A1', text: 'Documentary check' });
  if (params.controlNotificationType === '1') {
    writer.group('RequestedDocument', {
      sequenceNumber: 1,
      documentType: 'N380',
      description: 'Commercial invoice for every goods item',
    });
  }
  return finishMessage(writer, 'CC060C');
}

/** IE182 Forwarded Incident Notification To Office Of Departure. */
export function buildIE182(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC182C', 'inbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    MRN: params.mrn,
    incidentNotificationDateAndTime: params.preparationDateAndTime,
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeOffice(writer, 'CustomsOfficeOfIncidentRegistration', params.officeOfDestination);
  writer.open('Consignment');
  writer.open('Incident');
  writer.leaf('sequenceNumber', 1);
  writer.leaf('code', '1');
  writer.leaf('text', 'Trailer diverted after ferry cancellation; seals intact');
  writer.group('Location', { qualifierOfIdentification: 'U', UNLocode: 'GBHLY', country: 'GB' });
  writer.close('Incident');
  writer.close('Consignment');
  return finishMessage(writer, 'CC182C');
}
