import { XsdValidator } from '@ctc-hub/ncts';
import {
  buildIE009,
  buildIE015,
  buildIE056,
  buildIE057,
  buildMessage,
  buildMessageOfSize,
  createSeededRandom,
  generatedMessageTypes,
  generateLrn,
  generateMrn,
  isValidMrn,
  mrnCheckDigit,
  type GeneratedMessageType,
} from './index.js';

// Schema validity is checked with @ctc-hub/ncts's XsdValidator (libxml2 in worker threads).
const validator = new XsdValidator({ threads: 2 });
afterAll(() => validator.close());

async function xsdErrors(xml: string): Promise<string | null> {
  const result = await validator.validate(xml, 'phase5');
  return result.ok ? null : JSON.stringify(result.errors.slice(0, 5));
}

const header = (xml: string) =>
  [...xml.matchAll(/^ {2}<(\w+)>/gm)].map((match) => match[1]).slice(0, 6);

const textOf = (xml: string, element: string) =>
  new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml)?.[1];

describe('NCTS message builders', () => {
  const types = Object.keys(generatedMessageTypes) as GeneratedMessageType[];

  it.each(types)('%s is valid against its phase 5 XSD', async (type) => {
    const xml = buildMessage(type, { goodsItemCount: 3, random: createSeededRandom(7) });
    expect(await xsdErrors(xml)).toBeNull();
  });

  it.each(types)('%s is valid for an XI movement too', async (type) => {
    const xml = buildMessage(type, {
      officeOfDeparture: 'XI000142',
      officeOfDestination: 'GB000060',
      eori: 'XI123456789000',
    });
    expect(await xsdErrors(xml)).toBeNull();
  });

  it.each(types)('%s has the namespaced root and the header in XSD order', (type) => {
    const xml = buildMessage(type);
    const root = `CC${type.slice(2)}C`;
    expect(
      xml.startsWith(`<ncts:${root} PhaseID="NCTS5.0" xmlns:ncts="http://ncts.dgtaxud.ec">\n`),
    ).toBe(true);
    expect(xml.trimEnd().endsWith(`</ncts:${root}>`)).toBe(true);
    const expected = [
      'messageSender',
      'messageRecipient',
      'preparationDateAndTime',
      'messageIdentification',
      'messageType',
    ];
    expect(header(xml).slice(0, 5)).toEqual(expected);
    expect(textOf(xml, 'messageType')).toBe(root);
    expect(textOf(xml, 'preparationDateAndTime')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  });

  it('addresses trader messages to the NTA of the office country, and NCTS answers to the trader', () => {
    const declaration = buildIE015({ eori: 'XI111122223333', officeOfDeparture: 'XI000142' });
    expect(textOf(declaration, 'messageSender')).toBe('XI111122223333');
    expect(textOf(declaration, 'messageRecipient')).toBe('NTA.XI');
    expect(declaration).not.toContain('<correlationIdentifier>');
    const answer = buildMessage('IE028', {
      eori: 'GB999988887777',
      correlationIdentifier: 'MSG-1',
    });
    expect(textOf(answer, 'messageSender')).toBe('NTA.GB');
    expect(textOf(answer, 'messageRecipient')).toBe('GB999988887777');
    expect(textOf(answer, 'correlationIdentifier')).toBe('MSG-1');
    const arrival = buildMessage('IE007', { officeOfDestination: 'XI000142' });
    expect(textOf(arrival, 'messageRecipient')).toBe('NTA.XI');
  });

  it('carries the given movement identifiers', () => {
    const params = { mrn: '25GB00000000000AJ5', lrn: 'MYLRN-001', eori: 'GB555566667777' };
    const xml = buildMessage('IE029', params);
    expect(textOf(xml, 'MRN')).toBe(params.mrn);
    expect(textOf(xml, 'LRN')).toBe(params.lrn);
    expect(textOf(xml, 'identificationNumber')).toBe(params.eori);
    expect(buildMessage('IE043', params)).toContain(
      '<TraderAtDestination>\n    <identificationNumber>GB555566667777<',
    );
  });

  it('writes goodsItemCount goods items, numbered 1..n, over house consignments of at most 999', () => {
    const xml = buildIE015({ goodsItemCount: 1200 });
    expect(xml.match(/<ConsignmentItem>/g)).toHaveLength(1200);
    expect(xml.match(/<HouseConsignment>/g)).toHaveLength(2);
    expect(xml).toContain('<declarationGoodsItemNumber>1200</declarationGoodsItemNumber>');
    expect(() => buildIE015({ goodsItemCount: 2000 })).toThrow(RangeError);
    expect(() => buildIE015({ goodsItemCount: 0 })).toThrow(RangeError);
  });

  it('writes rejection details into IE056 and IE057', () => {
    const ie056 = buildIE056({
      lrn: 'REJ123',
      rejection: {
        businessRejectionType: '015',
        rejectionCode: '4',
        rejectionReason: 'Duplicate LRN',
        functionalErrors: [
          {
            errorPointer: '/CC015C/TransitOperation/LRN',
            errorCode: '26',
            errorReason: 'R0001',
            originalAttributeValue: 'REJ123',
          },
          { errorPointer: '/CC015C/Guarantee[1]', errorCode: '13', errorReason: 'C0001' },
        ],
      },
    });
    expect(textOf(ie056, 'businessRejectionType')).toBe('015');
    expect(textOf(ie056, 'rejectionCode')).toBe('4');
    expect(textOf(ie056, 'rejectionReason')).toBe('Duplicate LRN');
    expect(ie056.match(/<FunctionalError>/g)).toHaveLength(2);
    expect(ie056).not.toContain('<MRN>');
    const ie057 = buildIE057({
      mrn: '25GB00000000000AJ5',
      rejection: { businessRejectionType: '044' },
    });
    expect(textOf(ie057, 'businessRejectionType')).toBe('044');
    expect(textOf(ie057, 'errorPointer')).toBe('/CC044C/TransitOperation/MRN');
  });

  it('writes the IE009 decision', () => {
    expect(textOf(buildIE009(), 'decision')).toBe('1');
    expect(textOf(buildIE009({ invalidationDecision: false }), 'decision')).toBe('0');
  });

  it('escapes text values', () => {
    const xml = buildMessage('IE928', { traderName: 'Smith & Sons <Freight>' });
    expect(xml).toContain('<name>Smith &amp; Sons &lt;Freight&gt;</name>');
  });

  it('is reproducible with a seeded random source and a fixed time', () => {
    const params = () => ({
      random: createSeededRandom(42),
      preparationDateAndTime: '2025-03-01T10:00:00',
    });
    expect(buildMessage('IE029', params())).toBe(buildMessage('IE029', params()));
    expect(buildMessage('IE029', params())).not.toBe(
      buildMessage('IE029', { ...params(), random: createSeededRandom(43) }),
    );
  });
});

describe('identifiers', () => {
  it('computes the ISO 6346 check digit (container code vector CSQU305438 → 3)', () => {
    expect(mrnCheckDigit('CSQU305438')).toBe('3');
  });

  it('generates phase 5 MRNs with a valid check digit', () => {
    const random = createSeededRandom(1);
    for (let index = 0; index < 200; index += 1) {
      const mrn = generateMrn({ country: index % 2 === 0 ? 'GB' : 'XI', random });
      expect(mrn).toMatch(/^([2][4-9]|[3-9][0-9])(GB|XI)[A-Z0-9]{12}J[0-9]$/);
      expect(isValidMrn(mrn)).toBe(true);
    }
    const mrn = generateMrn({ year: 2025 });
    expect(mrn.slice(0, 2)).toBe('25');
    const wrongDigit = `${mrn.slice(0, 17)}${(Number(mrn[17]) + 1) % 10}`;
    expect(isValidMrn(wrongDigit)).toBe(false);
  });

  it('generates LRNs of at most 22 characters with the given prefix and no spaces', () => {
    for (const prefix of ['REJ', 'LRN', 'A VERY LONG PREFIX THAT IS CUT']) {
      const lrn = generateLrn(prefix);
      expect(lrn.length).toBeLessThanOrEqual(22);
      expect(lrn).toMatch(/^\S+$/);
      expect(lrn.startsWith(prefix.replace(/\s+/g, '').slice(0, 16))).toBe(true);
    }
    expect(generateLrn('REJ')).not.toBe(generateLrn('REJ'));
  });
});

describe('buildMessageOfSize', () => {
  const bytes = (xml: string) => Buffer.byteLength(xml);

  it.each([
    ['IE029', 80_001],
    ['IE015', 1_000_000],
    ['IE043', 250_000],
    ['IE025', 200_000],
    ['IE013', 100_000],
  ] as const)('%s of at least %d bytes is schema-valid', async (type, target) => {
    const xml = buildMessageOfSize(type, target);
    expect(bytes(xml)).toBeGreaterThanOrEqual(target);
    expect(bytes(xml)).toBeLessThan(target * 1.05 + 2000);
    expect(await xsdErrors(xml)).toBeNull();
  });

  it('builds 8 MB in well under a second and 20 MB within the 1,999-item limit', async () => {
    const started = performance.now();
    const eight = buildMessageOfSize('IE029', 8_000_000);
    expect(performance.now() - started).toBeLessThan(900);
    expect(bytes(eight)).toBeGreaterThanOrEqual(8_000_000);
    const twenty = buildMessageOfSize('IE015', 20_000_000);
    expect(bytes(twenty)).toBeGreaterThanOrEqual(20_000_000);
    expect(twenty.match(/<ConsignmentItem>/g)!.length).toBeLessThanOrEqual(1999);
    expect(await xsdErrors(twenty)).toBeNull();
  });

  it.each([80_000, 80_001, 100_000])('pads to exactly %d bytes on request', async (target) => {
    const xml = buildMessageOfSize('IE029', target, { mrn: '25GB00000000000AJ5' }, { exact: true });
    expect(bytes(xml)).toBe(target);
    expect(textOf(xml, 'MRN')).toBe('25GB00000000000AJ5');
    expect(await xsdErrors(xml)).toBeNull();
  });

  it('refuses types without goods items', () => {
    expect(() => buildMessageOfSize('IE028' as never, 100_000)).toThrow(/supports/);
  });
});
