import { generateMessageIdentification } from './ids.js';
import { ntaOf, type ResolvedParams } from './params.js';
import { escapeXml, nctsNamespace, XmlWriter } from './xml.js';

/** inbound = NCTS → trader (NTA sends), outbound = trader → NCTS (trader sends). */
export type Flow = 'inbound' | 'outbound';

/**
 * Opens the root and writes the header group in XSD order: messageSender, messageRecipient,
 * preparationDateAndTime, messageIdentification, messageType, correlationIdentifier.
 * `office` decides NTA.GB vs NTA.XI: the office of departure for departure messages, the
 * (actual) office of destination for arrival messages, as HMRC's business validation expects.
 */
export function startMessage(
  root: string,
  flow: Flow,
  office: string,
  params: ResolvedParams,
): XmlWriter {
  const writer = new XmlWriter();
  writer.open(
    `ncts:${root}`,
    `PhaseID="${escapeXml(params.phaseId)}" xmlns:ncts="${nctsNamespace}"`,
  );
  const nta = ntaOf(office);
  const sender = params.messageSender ?? (flow === 'inbound' ? nta : params.eori);
  const recipient = params.messageRecipient ?? (flow === 'inbound' ? params.eori : nta);
  // NCTS answers carry the messageIdentification of the trader message they answer; without a
  // given one we invent a plausible value. Trader messages carry none unless asked.
  const correlation =
    params.correlationIdentifier === undefined
      ? flow === 'inbound'
        ? generateMessageIdentification(params.random)
        : undefined
      : params.correlationIdentifier;
  return writer
    .leaf('messageSender', sender)
    .leaf('messageRecipient', recipient)
    .leaf('preparationDateAndTime', params.preparationDateAndTime)
    .leaf('messageIdentification', params.messageIdentification)
    .leaf('messageType', root)
    .leaf('correlationIdentifier', correlation);
}

export function finishMessage(writer: XmlWriter, root: string): string {
  return writer.close(`ncts:${root}`).toString();
}

/** Country of a trader from its EORI prefix (GB or XI), as an address country code. */
export function countryOfEori(eori: string): string {
  const prefix = eori.slice(0, 2).toUpperCase();
  return /^[A-Z]{2}$/.test(prefix) ? prefix : 'GB';
}

export interface Address {
  streetAndNumber: string;
  postcode: string;
  city: string;
  country: string;
}

export function traderAddress(eori: string): Address {
  return eori.startsWith('XI')
    ? { streetAndNumber: '3 Harbour Way', postcode: 'BT3 9AG', city: 'Belfast', country: 'GB' }
    : { streetAndNumber: '14 Dock Road', postcode: 'CT16 1JA', city: 'Dover', country: 'GB' };
}

/** Consignee on the other side of the Irish Sea from the default holder. */
export const consignee = {
  identificationNumber: 'XI987654321000',
  name: 'Lagan Wholesale Ltd',
  address: {
    streetAndNumber: '27 Duncrue Street',
    postcode: 'BT3 9AR',
    city: 'Belfast',
    country: 'GB',
  },
};

export function writeAddress(writer: XmlWriter, address: Address, name = 'Address'): void {
  writer.group(name, {
    streetAndNumber: address.streetAndNumber,
    postcode: address.postcode,
    city: address.city,
    country: address.country,
  });
}

/** HolderOfTheTransitProcedure with identificationNumber, name and Address (valid in every type). */
export function writeHolder(writer: XmlWriter, params: ResolvedParams): void {
  writer.open('HolderOfTheTransitProcedure');
  writer.leaf('identificationNumber', params.eori);
  writer.leaf('name', params.traderName);
  writeAddress(writer, traderAddress(params.eori));
  writer.close('HolderOfTheTransitProcedure');
}

export function writeOffice(writer: XmlWriter, element: string, referenceNumber: string): void {
  writer.group(element, { referenceNumber });
}
