import { buildIE015, buildIE056 } from '@ctc-hub/ncts-testkit';
import { readXmlInfo } from './info.js';
import { jsonToXml, xmlToJson } from './json.js';

describe('XML ⇄ JSON (HMRC converter shape)', () => {
  it('uses an n1: root key, @ attributes, numbers per the XSD types and arrays for repeating groups', () => {
    const json = xmlToJson(
      buildIE056({
        lrn: 'L1',
        rejection: {
          functionalErrors: [{ errorPointer: '/a', errorCode: '12', errorReason: 'R1' }],
        },
      }),
    );
    const root = json['n1:CC056C'] as Record<string, unknown>;
    expect(root['@PhaseID']).toBe('NCTS5.0');
    expect(root['@xmlns:ncts']).toBeUndefined();
    expect(root.TransitOperation).toMatchObject({
      LRN: 'L1',
      businessRejectionType: '015',
      rejectionCode: '12',
    });
    expect(root.FunctionalError).toEqual([
      { errorPointer: '/a', errorCode: '12', errorReason: 'R1' },
    ]);
  });

  it('writes numeric XSD types as JSON numbers, not strings (as HMRC’s converter does)', () => {
    const json = xmlToJson(buildIE015({ lrn: 'NUM-1', goodsItemCount: 2 }), '3.0');
    const root = json['n1:CC015C'] as Record<string, any>;
    const house = root.Consignment.HouseConsignment[0];
    expect(house.sequenceNumber).toEqual(expect.any(Number));
    expect(house.ConsignmentItem.map((item: any) => item.goodsItemNumber)).toEqual([1, 2]);
    expect(typeof root.TransitOperation.security).toBe('string');
  });

  it('round-trips a declaration to XML with the same fields', () => {
    const xml = buildIE015({ lrn: 'ROUND-1', goodsItemCount: 2 });
    const back = jsonToXml(xmlToJson(xml))!;
    const before = readXmlInfo(xml);
    const after = readXmlInfo(back);
    expect(after).toEqual({ ...before });
    expect(
      back.startsWith('<ncts:CC015C PhaseID="NCTS5.0" xmlns:ncts="http://ncts.dgtaxud.ec">'),
    ).toBe(true);
  });

  it('refuses JSON without a single root object', () => {
    expect(jsonToXml([1])).toBeUndefined();
    expect(jsonToXml({ a: {}, b: {} })).toBeUndefined();
    expect(jsonToXml({ 'n1:CC015C': 'text' })).toBeUndefined();
    expect(jsonToXml({ 'n1:CC015C': { 'bad name': '1' } })).toBeUndefined();
  });
});

describe('readXmlInfo', () => {
  it('reads root, header, identifiers, offices and goods count', () => {
    const info = readXmlInfo(
      `<?xml version="1.0"?>\n<!-- c -->\n${buildIE015({ lrn: 'INFO-1', eori: 'GB111', goodsItemCount: 4 })}`,
    );
    expect(info).toMatchObject({
      root: 'CC015C',
      messageType: 'IE015',
      messageTypeElement: 'CC015C',
      messageSender: 'GB111',
      messageRecipient: 'NTA.GB',
      lrn: 'INFO-1',
      officeOfDeparture: 'GB000060',
      officeOfDestinationDeclared: 'XI000142',
      holderEori: 'GB111',
      goodsItemCount: 4,
    });
    expect(readXmlInfo('not xml').root).toBeUndefined();
    expect(readXmlInfo('<foo/>').messageType).toBeUndefined();
  });
});
