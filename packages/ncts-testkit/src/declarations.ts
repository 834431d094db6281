import {
  finishMessage,
  startMessage,
  traderAddress,
  writeAddress,
  writeHolder,
  writeOffice,
} from './common.js';
import { writeDeclarationConsignment } from './goods.js';
import { addDays, formatNctsDate } from './ids.js';
import { resolveParams, type MessageParams, type ResolvedParams } from './params.js';
import type { XmlWriter } from './xml.js';

/**
 * Builders of trader → NCTS messages: what a trader submits through the CTC Traders API.
 * messageSender is the trader's EORI; messageRecipient is NTA.GB or NTA.XI, matching the
 * country of the office of departure (departures) or of destination (arrivals), which is what
 * HMRC's business validation checks.
 */

function writeDeclarationBody(
  writer: XmlWriter,
  params: ResolvedParams,
  guaranteeType: boolean,
): void {
  writer.group('Authorisation', {
    sequenceNumber: 1,
    type: 'C521',
    referenceNumber: `${params.officeOfDeparture.slice(0, 2)}ACR${params.eori.slice(2, 10)}`,
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeOffice(writer, 'CustomsOfficeOfDestinationDeclared', params.officeOfDestination);
  writeHolder(writer, params);
  writer.open('Guarantee');
  writer.leaf('sequenceNumber', 1);
  if (guaranteeType) writer.leaf('guaranteeType', '1');
  writer.group('GuaranteeReference', {
    sequenceNumber: 1,
    GRN: params.grn,
    accessCode: params.accessCode,
    amountToBeCovered: '25000.00',
    currency: 'GBP',
  });
  writer.close('Guarantee');
  writeDeclarationConsignment(writer, params);
}

/** IE015 Declaration Data: creates a departure movement. */
export function buildIE015(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC015C', 'outbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    LRN: params.lrn,
    declarationType: 'T1',
    additionalDeclarationType: 'A',
    security: '0',
    reducedDatasetIndicator: '0',
    bindingItinerary: '0',
    limitDate: formatNctsDate(addDays(params.now, 8)),
  });
  writeDeclarationBody(writer, params, true);
  return finishMessage(writer, 'CC015C');
}

/**
 * IE013 Declaration Amendment. Names the movement by MRN when one is given (after IE028),
 * otherwise by LRN: exactly one of them, as rule C0467 requires.
 */
export function buildIE013(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC013C', 'outbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    LRN: input.mrn === undefined ? params.lrn : undefined,
    MRN: input.mrn === undefined ? undefined : params.mrn,
    declarationType: 'T1',
    additionalDeclarationType: 'A',
    security: '0',
    reducedDatasetIndicator: '0',
    bindingItinerary: '0',
    amendmentTypeFlag: '0',
    limitDate: formatNctsDate(addDays(params.now, 8)),
  });
  writeDeclarationBody(writer, params, true);
  return finishMessage(writer, 'CC013C');
}

/** IE014 Declaration Invalidation Request (by MRN when given, else by LRN). */
export function buildIE014(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC014C', 'outbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    LRN: input.mrn === undefined ? params.lrn : undefined,
    MRN: input.mrn === undefined ? undefined : params.mrn,
  });
  writer.group('Invalidation', {
    requestDateAndTime: params.preparationDateAndTime,
    initiatedByCustoms: '0',
    justification: 'Goods will not be moved; declaration no longer required',
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writer.open('HolderOfTheTransitProcedure');
  writer.leaf('identificationNumber', params.eori);
  writer.leaf('name', params.traderName);
  writeAddress(writer, traderAddress(params.eori));
  writer.close('HolderOfTheTransitProcedure');
  return finishMessage(writer, 'CC014C');
}

/** IE170 Presentation Notification For The Pre-Lodged Declaration. */
export function buildIE170(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC170C', 'outbound', params.officeOfDeparture, params);
  writer.group('TransitOperation', {
    LRN: params.lrn,
    limitDate: formatNctsDate(addDays(params.now, 8)),
  });
  writeOffice(writer, 'CustomsOfficeOfDeparture', params.officeOfDeparture);
  writeHolder(writer, params);
  writer.open('Consignment');
  writer.leaf('containerIndicator', '1');
  writer.leaf('inlandModeOfTransport', '3');
  writer.leaf('modeOfTransportAtTheBorder', '1');
  writer.group('LocationOfGoods', {
    typeOfLocation: 'B',
    qualifierOfIdentification: 'Y',
    authorisationNumber: `${params.officeOfDeparture.slice(0, 2)}DEPLOC${params.eori.slice(-4)}`,
  });
  writer.group('DepartureTransportMeans', {
    sequenceNumber: 1,
    typeOfIdentification: '30',
    identificationNumber: 'NF24KXB',
    nationality: 'GB',
  });
  writer.open('HouseConsignment');
  writer.leaf('sequenceNumber', 1);
  writer.close('HouseConsignment');
  writer.close('Consignment');
  return finishMessage(writer, 'CC170C');
}

/**
 * IE007 Arrival Notification: creates an arrival movement for an MRN. By default from an
 * authorised consignee (simplified procedure, authorisation C522), whom NCTS answers with an
 * unloading permission (IE043); `normalProcedure` leaves the authorisation out (NCTS then
 * releases the goods at the office, IE025, without unloading remarks).
 */
export function buildIE007(input: MessageParams & { normalProcedure?: boolean } = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC007C', 'outbound', params.officeOfDestination, params);
  writer.group('TransitOperation', {
    MRN: params.mrn,
    arrivalNotificationDateAndTime: params.preparationDateAndTime,
    simplifiedProcedure: input.normalProcedure === true ? '0' : '1',
    incidentFlag: '0',
  });
  if (input.normalProcedure !== true)
    writer.group('Authorisation', {
      sequenceNumber: 1,
      type: 'C522',
      referenceNumber: `${params.officeOfDestination.slice(0, 2)}ACE${params.eori.slice(2, 12)}`,
    });
  writeOffice(writer, 'CustomsOfficeOfDestinationActual', params.officeOfDestination);
  writer.group('TraderAtDestination', {
    identificationNumber: params.eori,
    communicationLanguageAtDestination: 'EN',
  });
  writer.open('Consignment');
  writer.open('LocationOfGoods');
  writer.leaf('typeOfLocation', 'A');
  writer.leaf('qualifierOfIdentification', 'V');
  writer.group('CustomsOffice', { referenceNumber: params.officeOfDestination });
  writer.close('LocationOfGoods');
  writer.close('Consignment');
  return finishMessage(writer, 'CC007C');
}

/** IE044 Unloading Remarks (answer to IE043). `unloadingConform` false reports a discrepancy. */
export function buildIE044(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC044C', 'outbound', params.officeOfDestination, params);
  writer.group('TransitOperation', { MRN: params.mrn });
  writeOffice(writer, 'CustomsOfficeOfDestinationActual', params.officeOfDestination);
  writer.group('TraderAtDestination', { identificationNumber: params.eori });
  writer.group('UnloadingRemark', {
    conform: params.unloadingConform ? '1' : '0',
    unloadingCompletion: '1',
    unloadingDate: formatNctsDate(params.now),
    stateOfSeals: '1',
    unloadingRemark: params.unloadingConform
      ? undefined
      : 'Two cartons of goods item 1 missing on unloading',
  });
  return finishMessage(writer, 'CC044C');
}
