import { finishMessage, startMessage, writeHolder, writeOffice } from './common.js';
import { writeFunctionalErrors } from './departure.js';
import { writeReleaseConsignment, writeUnloadingConsignment } from './goods.js';
import { addDays, formatNctsDate, toNctsDateTime } from './ids.js';
import { resolveParams, type MessageParams } from './params.js';

/**
 * Builders of NCTS → trader messages of an arrival movement (office of destination's answers).
 * `officeOfDestination` is the actual office of destination and decides NTA.GB / NTA.XI.
 */

/** IE043 Unloading Permission: what was declared, for the trader to check while unloading. */
export function buildIE043(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC043C', 'inbound', params.officeOfDestination, params);
  writer.group('TransitOperation', {
    MRN: params.mrn,
    declarationType: 'T1',
    declarationAcceptanceDate: formatNctsDate(addDays(params.now, -2)),
    security: '0',
    reducedDatasetIndicator: '0',
  });
  writeOffice(writer, 'CustomsOfficeOfDestinationActual', params.officeOfDestination);
  // The holder is the trader who declared the departure, not the trader at destination.
  writeHolder(writer, { ...params, eori: 'GB123456789000', traderName: 'Northbound Freight Ltd' });
  writer.group('TraderAtDestination', { identificationNumber: params.eori });
  writeUnloadingConsignment(writer, params);
  return finishMessage(writer, 'CC043C');
}

/** IE025 Goods Release Notification: the arrival is complete. */
export function buildIE025(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const writer = startMessage('CC025C', 'inbound', params.officeOfDestination, params);
  writer.group('TransitOperation', {
    MRN: params.mrn,
    releaseDate: formatNctsDate(params.now),
    releaseIndicator: '1',
  });
  writeOffice(writer, 'CustomsOfficeOfDestinationActual', params.officeOfDestination);
  writer.group('TraderAtDestination', { identificationNumber: params.eori });
  writeReleaseConsignment(writer, params);
  return finishMessage(writer, 'CC025C');
}

/** IE057 Rejection From Office Of Destination (business rejection of IE007 or IE044). */
export function buildIE057(input: MessageParams = {}): string {
  const params = resolveParams(input);
  const rejection = params.rejection;
  const type = rejection.businessRejectionType ?? '007';
  const writer = startMessage('CC057C', 'inbound', params.officeOfDestination, params);
  writer.group('TransitOperation', {
    MRN: params.mrn,
    businessRejectionType: type,
    rejectionDateAndTime: toNctsDateTime(rejection.rejectionDateAndTime ?? params.now),
    rejectionCode: rejection.rejectionCode ?? '12',
    rejectionReason: rejection.rejectionReason,
  });
  writeOffice(writer, 'CustomsOfficeOfDestinationActual', params.officeOfDestination);
  writer.group('TraderAtDestination', { identificationNumber: params.eori });
  writeFunctionalErrors(writer, params, `CC${type}C`, '/TransitOperation/MRN', params.mrn);
  return finishMessage(writer, 'CC057C');
}
