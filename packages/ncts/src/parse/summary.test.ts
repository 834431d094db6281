import { header, ncts, summaryOf } from './test-helpers.js';

// What the summary says about rejections, NACKs and decisions, phase 5 and phase 4.

describe('parseNctsMessage on rejections and decisions', () => {
  it('IE056: the rejection with its functional errors', () => {
    const xml = ncts(
      'CC056C',
      `${header('CC056C')}
      <TransitOperation>
        <LRN>LRN-0042</LRN>
        <businessRejectionType>015</businessRejectionType>
        <rejectionDateAndTime>2024-05-14T15:27:00</rejectionDateAndTime>
        <rejectionCode>12</rejectionCode>
        <rejectionReason>Declaration invalid</rejectionReason>
      </TransitOperation>
      <CustomsOfficeOfDeparture><referenceNumber>GB000246</referenceNumber></CustomsOfficeOfDeparture>
      <HolderOfTheTransitProcedure><identificationNumber>GB123456789000</identificationNumber></HolderOfTheTransitProcedure>
      <FunctionalError>
        <errorPointer>/CC015C/HolderOfTheTransitProcedure/identificationNumber</errorPointer>
        <errorCode>12</errorCode>
        <errorReason>G0001</errorReason>
        <originalAttributeValue>GB000000000000</originalAttributeValue>
      </FunctionalError>
      <FunctionalError>
        <errorPointer>/CC015C/Guarantee[1]/GuaranteeReference[1]/GRN</errorPointer>
        <errorCode>14</errorCode>
        <errorReason>R0103</errorReason>
      </FunctionalError>`,
    );
    const summary = summaryOf(xml);
    expect(summary).toMatchObject({ messageType: 'IE056', lrn: 'LRN-0042', mrn: null });
    expect(summary.rejection).toEqual({
      businessRejectionType: '015',
      rejectionCode: '12',
      rejectionReason: 'Declaration invalid',
      rejectionDateAndTime: '2024-05-14T15:27:00',
      functionalErrors: [
        {
          errorPointer: '/CC015C/HolderOfTheTransitProcedure/identificationNumber',
          errorCode: '12',
          errorReason: 'G0001',
          originalAttributeValue: 'GB000000000000',
        },
        {
          errorPointer: '/CC015C/Guarantee[1]/GuaranteeReference[1]/GRN',
          errorCode: '14',
          errorReason: 'R0103',
          originalAttributeValue: null,
        },
      ],
    });
  });

  it('IE057: an arrival rejection without functional errors', () => {
    const xml = ncts(
      'CC057C',
      `${header('CC057C')}
      <TransitOperation>
        <MRN>24GB000246J8NY33L7</MRN>
        <businessRejectionType>007</businessRejectionType>
        <rejectionDateAndTime>2024-05-20T09:00:00</rejectionDateAndTime>
        <rejectionCode>4</rejectionCode>
      </TransitOperation>
      <CustomsOfficeOfDestinationActual><referenceNumber>GB000060</referenceNumber></CustomsOfficeOfDestinationActual>
      <TraderAtDestination><identificationNumber>GB999999999000</identificationNumber></TraderAtDestination>`,
    );
    expect(summaryOf(xml)).toMatchObject({
      messageType: 'IE057',
      mrn: '24GB000246J8NY33L7',
      officeOfDestination: 'GB000060',
      traderAtDestinationEori: 'GB999999999000',
      rejection: {
        businessRejectionType: '007',
        rejectionCode: '4',
        rejectionReason: null,
        rejectionDateAndTime: '2024-05-20T09:00:00',
        functionalErrors: [],
      },
    });
  });

  it('IE906: Header identifiers and functional errors', () => {
    const xml = ncts(
      'CC906C',
      `${header('CC906C')}
      <Header><MRN>24GB000246J8NY33L7</MRN></Header>
      <FunctionalError>
        <errorPointer>/CC013C/TransitOperation/MRN</errorPointer>
        <errorCode>90</errorCode>
        <errorReason>Unknown MRN</errorReason>
      </FunctionalError>`,
    );
    expect(summaryOf(xml)).toMatchObject({
      messageType: 'IE906',
      mrn: '24GB000246J8NY33L7',
      rejection: {
        businessRejectionType: null,
        functionalErrors: [
          {
            errorPointer: '/CC013C/TransitOperation/MRN',
            errorCode: '90',
            errorReason: 'Unknown MRN',
            originalAttributeValue: null,
          },
        ],
      },
    });
  });

  it('IE917: XML errors, located by line and column when there is no pointer', () => {
    const xml = ncts(
      'CC917C',
      `${header('CC917C')}
      <Header><LRN>LRN-0042</LRN></Header>
      <XMLError>
        <errorLineNumber>12</errorLineNumber>
        <errorColumnNumber>7</errorColumnNumber>
        <errorCode>4</errorCode>
        <errorText>Element 'LRN' is not expected</errorText>
      </XMLError>`,
    );
    expect(summaryOf(xml)).toMatchObject({
      messageType: 'IE917',
      lrn: 'LRN-0042',
      rejection: {
        functionalErrors: [
          {
            errorPointer: 'line 12, column 7',
            errorCode: '4',
            errorReason: "Element 'LRN' is not expected",
            originalAttributeValue: null,
          },
        ],
      },
    });
  });

  it.each([
    ['1', true],
    ['0', false],
  ])('IE009 with decision %s reads as %s', (decision, expected) => {
    const xml = ncts(
      'CC009C',
      `${header('CC009C')}
      <TransitOperation><MRN>24GB000246J8NY33L7</MRN></TransitOperation>
      <Invalidation>
        <decisionDateAndTime>2024-05-15T10:00:00</decisionDateAndTime>
        <decision>${decision}</decision>
        <initiatedByCustoms>0</initiatedByCustoms>
      </Invalidation>
      <CustomsOfficeOfDeparture><referenceNumber>GB000246</referenceNumber></CustomsOfficeOfDeparture>`,
    );
    expect(summaryOf(xml)).toMatchObject({ messageType: 'IE009', invalidationDecision: expected });
  });

  it('reads no invalidation decision from messages other than IE009', () => {
    const xml = ncts(
      'CC014C',
      `${header('CC014C')}<Invalidation><decision>1</decision></Invalidation>`,
    );
    expect(summaryOf(xml).invalidationDecision).toBeNull();
  });

  it('phase 4 CC016A: the declaration rejection with FUNERRER1 errors', () => {
    const xml = `<CC016A>
      <SynIdeMES1>UNOC</SynIdeMES1><MesSenMES3>NTA.GB</MesSenMES3><MesRecMES6>GB123</MesRecMES6>
      <DatOfPreMES9>190913</DatOfPreMES9><TimOfPreMES10>1156</TimOfPreMES10>
      <MesIdeMES19>47390913115628</MesIdeMES19><MesTypMES20>GB016A</MesTypMES20>
      <CorIdeMES25>REF-1</CorIdeMES25>
      <HEAHEA>
        <RefNumHEA4>05CTC20190913113500</RefNumHEA4>
        <DecRejDatHEA159>20190913</DecRejDatHEA159>
        <DecRejReaHEA252>The IE015 message received was invalid</DecRejReaHEA252>
      </HEAHEA>
      <FUNERRER1><ErrTypER11>15</ErrTypER11><ErrPoiER12>GUA(1).REF(1).Other guarantee reference</ErrPoiER12><OriAttValER14>EU_EXIT</OriAttValER14></FUNERRER1>
      <FUNERRER1><ErrTypER11>12</ErrTypER11><ErrPoiER12>GUA(1).REF(1).Guarantee reference number</ErrPoiER12><ErrReaER13>R123</ErrReaER13></FUNERRER1>
    </CC016A>`;
    expect(summaryOf(xml)).toMatchObject({
      messageType: 'IE016',
      phase: 'NCTS4',
      lrn: '05CTC20190913113500',
      header: {
        messageSender: 'NTA.GB',
        preparationDateAndTime: '2019-09-13T11:56:00',
        messageType: 'GB016A',
        correlationIdentifier: 'REF-1',
      },
      rejection: {
        businessRejectionType: '015',
        rejectionReason: 'The IE015 message received was invalid',
        rejectionDateAndTime: '2019-09-13',
        functionalErrors: [
          {
            errorCode: '15',
            errorPointer: 'GUA(1).REF(1).Other guarantee reference',
            errorReason: null,
            originalAttributeValue: 'EU_EXIT',
          },
          {
            errorCode: '12',
            errorPointer: 'GUA(1).REF(1).Guarantee reference number',
            errorReason: 'R123',
            originalAttributeValue: null,
          },
        ],
      },
      warnings: [],
    });
  });

  it('phase 4 CC008A, CC009A, CC028A and CC007A', () => {
    expect(
      summaryOf(
        `<CC008A><MesTypMES20>GB008A</MesTypMES20><HEAHEA><DocNumHEA5>19IT021300100075E9</DocNumHEA5><ArrRejDatHEA142>20191018</ArrRejDatHEA142><ArrRejReaHEA242>Invalid IE007 Message</ArrRejReaHEA242></HEAHEA><FUNERRER1><ErrTypER11>93</ErrTypER11><ErrPoiER12>Invalid MRN</ErrPoiER12></FUNERRER1></CC008A>`,
      ),
    ).toMatchObject({
      messageType: 'IE008',
      mrn: '19IT021300100075E9',
      rejection: { businessRejectionType: '007', rejectionReason: 'Invalid IE007 Message' },
    });
    expect(
      summaryOf(
        `<CC009A><MesTypMES20>CC009A</MesTypMES20><HEAHEA><DocNumHEA5>20GB00006010004596</DocNumHEA5><CanDecHEA93>1</CanDecHEA93></HEAHEA></CC009A>`,
      ),
    ).toMatchObject({ messageType: 'IE009', invalidationDecision: true });
    expect(
      summaryOf(
        `<CC028A><MesTypMES20>GB028A</MesTypMES20><HEAHEA><RefNumHEA4>0012</RefNumHEA4><DocNumHEA5>20GB00006010004596</DocNumHEA5><AccDatHEA158>20201028</AccDatHEA158></HEAHEA><TRAPRIPC1><TINPC159>GB954131533000</TINPC159></TRAPRIPC1><CUSOFFDEPEPT><RefNumEPT1>GB000060</RefNumEPT1></CUSOFFDEPEPT></CC028A>`,
      ),
    ).toMatchObject({
      messageType: 'IE028',
      lrn: '0012',
      mrn: '20GB00006010004596',
      declarationAcceptanceDate: '2020-10-28',
      holderEori: 'GB954131533000',
      officeOfDeparture: 'GB000060',
      warnings: [],
    });
    expect(
      summaryOf(
        `<CC007A><MesTypMES20>GB007A</MesTypMES20><HEAHEA><DocNumHEA5>20GB00006010004596</DocNumHEA5></HEAHEA><TRADESTRD><TINTRD59>GB111111111000</TINTRD59></TRADESTRD><CUSOFFPREOFFRES><RefNumRES1>GB000060</RefNumRES1></CUSOFFPREOFFRES></CC007A>`,
      ),
    ).toMatchObject({
      messageType: 'IE007',
      traderAtDestinationEori: 'GB111111111000',
      officeOfDestination: 'GB000060',
    });
  });
});
