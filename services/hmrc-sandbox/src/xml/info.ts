/**
 * Reads the few fields the sandbox needs from a submitted or injected NCTS message: root,
 * header, LRN/MRN, offices and traders. Messages reaching business checks have passed the XSD,
 * so the first occurrence of each element is the one the schema puts there.
 */

export interface XmlInfo {
  /** Root element without prefix, e.g. CC015C; undefined when the text has no element. */
  root: string | undefined;
  /** IE code of the root (CC015C → IE015), when it looks like an NCTS root. */
  messageType: string | undefined;
  messageTypeElement: string | undefined;
  messageSender: string | undefined;
  messageRecipient: string | undefined;
  messageIdentification: string | undefined;
  lrn: string | undefined;
  mrn: string | undefined;
  officeOfDeparture: string | undefined;
  officeOfDestinationDeclared: string | undefined;
  officeOfDestinationActual: string | undefined;
  holderEori: string | undefined;
  traderAtDestinationEori: string | undefined;
  goodsItemCount: number;
}

const rootPattern =
  /^\uFEFF?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<(?:[\w.-]+:)?([\w.-]+)[\s/>]/;

function first(xml: string, element: string): string | undefined {
  const match = new RegExp(`<${element}>\\s*([^<]*?)\\s*</${element}>`).exec(xml);
  return match?.[1];
}

function nested(xml: string, parent: string, child: string): string | undefined {
  const match = new RegExp(
    `<${parent}>\\s*(?:<[^>]+>[^<]*</[^>]+>\\s*)*?<${child}>\\s*([^<]*?)\\s*</${child}>`,
  ).exec(xml);
  return match?.[1];
}

function count(xml: string, tag: string): number {
  let total = 0;
  for (let index = xml.indexOf(tag); index !== -1; index = xml.indexOf(tag, index + tag.length))
    total += 1;
  return total;
}

export function readXmlInfo(input: Buffer | string): XmlInfo {
  const xml = typeof input === 'string' ? input : input.toString('utf8');
  const root = rootPattern.exec(xml)?.[1];
  const code = root !== undefined ? /^CC(\d{3})[A-Z]$/.exec(root)?.[1] : undefined;
  return {
    root,
    messageType: code === undefined ? undefined : `IE${code}`,
    messageTypeElement: first(xml, 'messageType'),
    messageSender: first(xml, 'messageSender'),
    messageRecipient: first(xml, 'messageRecipient'),
    messageIdentification: first(xml, 'messageIdentification'),
    lrn: first(xml, 'LRN'),
    mrn: first(xml, 'MRN'),
    officeOfDeparture: nested(xml, 'CustomsOfficeOfDeparture', 'referenceNumber'),
    officeOfDestinationDeclared: nested(
      xml,
      'CustomsOfficeOfDestinationDeclared',
      'referenceNumber',
    ),
    officeOfDestinationActual: nested(xml, 'CustomsOfficeOfDestinationActual', 'referenceNumber'),
    holderEori: nested(xml, 'HolderOfTheTransitProcedure', 'identificationNumber'),
    traderAtDestinationEori: nested(xml, 'TraderAtDestination', 'identificationNumber'),
    goodsItemCount: count(xml, '<ConsignmentItem>'),
  };
}
