import { readdirSync } from 'node:fs';
import { fixturePath } from '@ctc-hub/testing';
import { example, header, ncts, summaryOf } from './test-helpers.js';

describe('parseNctsMessage on the HMRC examples', () => {
  const files = [
    ...readdirSync(fixturePath('ncts/examples/phase5')).map((name) => `phase5/${name}`),
    ...readdirSync(fixturePath('ncts/examples/phase4')).map((name) => `phase4/${name}`),
  ];

  it('finds all 37 example files', () => {
    expect(files).toHaveLength(37);
  });

  it.each(files)('%s parses to the type its name says, without warnings', (file) => {
    const summary = summaryOf(example(file));
    const digits = /(?:cc|ie)(\d{3})/.exec(file)?.[1];
    expect(summary.messageType).toBe(`IE${digits}`);
    expect(summary.knownType).toBe(true);
    expect(summary.warnings).toEqual([]);
  });

  it('cc015c-valid: the declaration fields', () => {
    expect(summaryOf(example('phase5/cc015c-valid.xml'))).toEqual({
      rootElement: 'CC015C',
      messageType: 'IE015',
      knownType: true,
      phase: 'NCTS5.0',
      namespace: 'http://ncts.dgtaxud.ec',
      header: {
        messageSender: 'token',
        messageRecipient: 'NTA.GB',
        preparationDateAndTime: '2022-07-02T03:11:04',
        messageIdentification: 'wrxe',
        messageType: 'CC015C',
        correlationIdentifier: null,
      },
      mrn: null,
      lrn: 'DHbrfgDQJRm',
      officeOfDeparture: 'GB3KMA8M',
      officeOfDestination: 'BN3KMA8M',
      holderEori: 'ezv3Z',
      traderAtDestinationEori: null,
      declarationAcceptanceDate: null,
      releaseDate: null,
      invalidationDecision: null,
      rejection: null,
      goodsItemCount: 1,
      warnings: [],
    });
  });

  it('cc015c-valid-2: no PhaseID attribute means no phase', () => {
    const summary = summaryOf(example('phase5/cc015c-valid-2.xml'));
    expect(summary).toMatchObject({
      phase: null,
      lrn: 'MDTP-18',
      officeOfDeparture: 'XI000081',
      officeOfDestination: 'GB000120',
      holderEori: 'XI985524247819',
    });
  });

  it('cc015c-realistic: counts goods items across house consignments', () => {
    expect(summaryOf(example('phase5/cc015c-realistic.xml'))).toMatchObject({
      lrn: 'N56geg',
      holderEori: 'nXG1Q',
      goodsItemCount: 25,
    });
  });

  it('cc015c-minimal: keeps template placeholders as written', () => {
    expect(summaryOf(example('phase5/cc015c-minimal.xml'))).toMatchObject({
      holderEori: '{eori}',
      header: { preparationDateAndTime: '{now}', messageSender: null },
    });
  });

  it('cc029c-valid: MRN, LRN and dates of a release', () => {
    expect(summaryOf(example('phase5/cc029c-valid.xml'))).toMatchObject({
      messageType: 'IE029',
      mrn: '27WF9X1FQ9RCKN0TM3',
      lrn: 'MDTP-18',
      declarationAcceptanceDate: '2014-06-09',
      releaseDate: '2008-11-15',
      officeOfDeparture: 'AB654321',
      holderEori: 'XI985524247819',
      header: { correlationIdentifier: 'token' },
    });
  });

  it('ie029-example-november-2023: MRN, release date and the zoned acceptance date as written', () => {
    expect(summaryOf(example('phase5/ie029-example-november-2023.xml'))).toMatchObject({
      mrn: '23GB000246IF9W5YJ0',
      lrn: 'O6oJHgerHc9PnTG',
      releaseDate: '2023-11-27',
      declarationAcceptanceDate: '2023-11-26+01:00',
      officeOfDeparture: 'GB000060',
      officeOfDestination: 'XI000142',
      holderEori: 'GB954131544000',
      goodsItemCount: 9,
    });
  });

  it('ie029-post-transition-tad: a NCTS5.1 release with the attributes in another order', () => {
    expect(summaryOf(example('phase5/ie029-post-transition-tad.xml'))).toMatchObject({
      phase: 'NCTS5.1',
      mrn: '24GB000246J8NY33L7',
      lrn: 'GB8d53f132d00045f3c154',
      releaseDate: '2024-12-04',
      header: { messageSender: 'NTA.GB', messageIdentification: '83ONFTMIOXMT11' },
      goodsItemCount: 2,
    });
  });

  it('cc007c-valid-xi: the actual office of destination and the trader at destination', () => {
    expect(summaryOf(example('phase5/cc007c-valid-xi.xml'))).toMatchObject({
      messageType: 'IE007',
      mrn: '27WF9X1FQ9RCKN0TM3',
      lrn: null,
      officeOfDeparture: null,
      officeOfDestination: 'XI123456',
      traderAtDestinationEori: 'ezv3Z',
      header: { messageRecipient: 'NTA.XI' },
    });
  });

  it('cc043c-valid and cc025c-valid: arrival-side fields', () => {
    expect(summaryOf(example('phase5/cc043c-valid.xml'))).toMatchObject({
      mrn: '27WF9X1FQ9RCKN0TM3',
      officeOfDestination: 'AB654321',
      traderAtDestinationEori: 'string',
      declarationAcceptanceDate: '2014-06-09',
    });
    expect(summaryOf(example('phase5/cc025c-valid.xml'))).toMatchObject({
      mrn: '27WF9X1FQ9RCKN0TM3',
      releaseDate: '2014-06-09',
      officeOfDestination: 'AB654321',
    });
  });

  it('cc013c: LRN or MRN, whichever the amendment names', () => {
    expect(summaryOf(example('phase5/cc013c-valid.xml'))).toMatchObject({ lrn: 'ABC', mrn: null });
    expect(summaryOf(example('phase5/cc013c-valid-mrn.xml'))).toMatchObject({
      lrn: null,
      mrn: '24GB012345678901A0',
      officeOfDeparture: 'GB123456',
    });
  });

  it('cc014c-valid: an empty TransitOperation gives no LRN or MRN', () => {
    expect(summaryOf(example('phase5/cc014c-valid.xml'))).toMatchObject({
      messageType: 'IE014',
      lrn: null,
      mrn: null,
      officeOfDeparture: 'GB123456',
      goodsItemCount: null,
    });
  });

  it('cc015b-example (phase 4): EDIFACT-style fields', () => {
    expect(summaryOf(example('phase4/cc015b-example.xml'))).toEqual({
      rootElement: 'CC015B',
      messageType: 'IE015',
      knownType: true,
      phase: 'NCTS4',
      namespace: null,
      header: {
        messageSender: null,
        messageRecipient: 'NCTS',
        preparationDateAndTime: '2021-10-01T12:22:00',
        messageIdentification: '1',
        messageType: 'CC015B',
        correlationIdentifier: null,
      },
      mrn: null,
      lrn: '01CTC201909121215',
      officeOfDeparture: 'GB000060',
      officeOfDestination: 'IT018105',
      holderEori: '{eori}',
      traderAtDestinationEori: null,
      declarationAcceptanceDate: null,
      releaseDate: null,
      invalidationDecision: null,
      rejection: null,
      goodsItemCount: 1,
      warnings: [],
    });
  });
});

describe('parseNctsMessage values and warnings', () => {
  it('keeps every value a string exactly as written (no number parsing)', () => {
    const xml = ncts(
      'CC028C',
      `${header('CC028C')}
      <TransitOperation><LRN>0012</LRN><MRN>1e5</MRN><declarationAcceptanceDate>2024-05-14</declarationAcceptanceDate></TransitOperation>
      <CustomsOfficeOfDeparture><referenceNumber>00000060</referenceNumber></CustomsOfficeOfDeparture>
      <HolderOfTheTransitProcedure><identificationNumber>0x1F</identificationNumber></HolderOfTheTransitProcedure>`,
    );
    expect(summaryOf(xml)).toMatchObject({
      lrn: '0012',
      mrn: '1e5',
      officeOfDeparture: '00000060',
      holderEori: '0x1F',
    });
  });

  it('decodes references and CDATA, ignores comments, trims surrounding whitespace', () => {
    const xml = ncts(
      'CC028C',
      `${header('CC028C')}<TransitOperation><LRN>
        A&amp;B&#x43;&#68;<!-- note --><![CDATA[<E>]]>
      </LRN></TransitOperation>`,
    );
    expect(summaryOf(xml).lrn).toBe('A&BCD<E>');
  });

  it('takes the first of repeated elements', () => {
    const xml = ncts(
      'CC028C',
      `${header('CC028C')}<TransitOperation><LRN>FIRST</LRN><LRN>SECOND</LRN></TransitOperation>`,
    );
    expect(summaryOf(xml).lrn).toBe('FIRST');
  });

  it('ignores same-named elements deeper in the tree', () => {
    const xml = ncts(
      'CC015C',
      `${header('CC015C')}<Consignment><HouseConsignment><ConsignmentItem><TransitOperation><LRN>NOT-THIS</LRN></TransitOperation></ConsignmentItem></HouseConsignment></Consignment>`,
    );
    expect(summaryOf(xml)).toMatchObject({ lrn: null, goodsItemCount: 1 });
  });

  it('reads a UTF-8 document with multi-byte characters', () => {
    const xml = Buffer.from(
      ncts('CC028C', `${header('CC028C')}<TransitOperation><LRN>ÆØÅ-€-漢</LRN></TransitOperation>`),
    );
    expect(summaryOf(xml).lrn).toBe('ÆØÅ-€-漢');
  });

  it('warns when the messageType element does not match the root', () => {
    const xml = ncts('CC028C', header('CC029C'));
    expect(summaryOf(xml)).toMatchObject({
      messageType: 'IE028',
      warnings: ['messageType element CC029C does not match the root element CC028C'],
    });
  });

  it('warns when the messageType element is missing', () => {
    expect(summaryOf(ncts('CC928C', '')).warnings).toEqual(['No messageType element']);
  });

  it('warns when a phase 5 root is outside the NCTS namespace', () => {
    const summary = summaryOf(
      `<ncts:CC928C xmlns:ncts="urn:other">${header('CC928C')}</ncts:CC928C>`,
    );
    expect(summary.namespace).toBe('urn:other');
    expect(summary.warnings).toEqual([
      'Root element CC928C is not in the namespace http://ncts.dgtaxud.ec',
    ]);
  });

  it('resolves a default namespace on an unprefixed root', () => {
    const summary = summaryOf(
      `<CC928C xmlns="http://ncts.dgtaxud.ec">${header('CC928C')}</CC928C>`,
    );
    expect(summary).toMatchObject({
      rootElement: 'CC928C',
      namespace: 'http://ncts.dgtaxud.ec',
      warnings: [],
    });
  });

  it('warns about a declared encoding other than UTF-8', () => {
    const xml = `<?xml version="1.0" encoding="ISO-8859-1"?>\n${ncts('CC928C', header('CC928C'))}`;
    expect(summaryOf(xml).warnings).toEqual([
      'Declared encoding ISO-8859-1 ignored; decoded as UTF-8',
    ]);
  });

  it('accepts an XML declaration, comments and PIs around the root', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<!-- from NCTS -->\n<?pi data?>\n${ncts('CC928C', header('CC928C'))}\n<!-- end -->\n`;
    expect(summaryOf(xml)).toMatchObject({ messageType: 'IE928', warnings: [] });
  });

  it('flags invalid UTF-8 instead of refusing the message', () => {
    const xml = Buffer.concat([
      Buffer.from(
        ncts('CC928C', `${header('CC928C')}<TransitOperation><LRN>A`).replace(
          /<\/ncts:CC928C>$/,
          '',
        ),
      ),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('</LRN></TransitOperation></ncts:CC928C>'),
    ]);
    const summary = summaryOf(xml);
    expect(summary.lrn).toBe('A\ufffd(');
    expect(summary.warnings).toEqual(['Invalid UTF-8 sequences replaced with U+FFFD']);
  });
});
