import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nctsXmlToHmrcJson, nctsXmlToHmrcJsonText } from './convert.js';
import { phase5 } from './shapes.phase5.js';
import { phase6 } from './shapes.phase6.js';
import { readSchemaShapes } from './xsd-shapes.js';

// HMRC's own expectation for this message (transit-movements-converter,
// it/test/.../itbase/TestObjects.scala, CC015C.xml1 → json1).
const hmrcCc015c = `<ncts:CC015C PhaseID="NCTS5.0" xmlns:ncts="http://ncts.dgtaxud.ec">
  <messageSender>Ge1cminxBxSLGm1rRUn0q96R2</messageSender>
  <messageRecipient>FdOcminxBxSLGm1rRUn0q96S1</messageRecipient>
  <preparationDateAndTime>2022-01-22T07:43:36</preparationDateAndTime>
  <messageIdentification>6Onxa3En</messageIdentification>
  <messageType>CC015C</messageType>
  <TransitOperation>
    <LRN>qvRcL</LRN><declarationType>Pbg</declarationType><additionalDeclarationType>O</additionalDeclarationType>
    <security>8</security><reducedDatasetIndicator>1</reducedDatasetIndicator><bindingItinerary>0</bindingItinerary>
  </TransitOperation>
  <CustomsOfficeOfDeparture><referenceNumber>ZQZ20442</referenceNumber></CustomsOfficeOfDeparture>
  <CustomsOfficeOfDestinationDeclared><referenceNumber>ZQZ20442</referenceNumber></CustomsOfficeOfDestinationDeclared>
  <HolderOfTheTransitProcedure><identificationNumber>SFzsisksA</identificationNumber></HolderOfTheTransitProcedure>
  <Guarantee><sequenceNumber>48711</sequenceNumber><guaranteeType>1</guaranteeType><otherGuaranteeReference>1qJMA6MbhnnrOJJjHBHX</otherGuaranteeReference></Guarantee>
  <Consignment>
    <grossMass>6430669292.48125</grossMass>
    <HouseConsignment>
      <sequenceNumber>48711</sequenceNumber><grossMass>6430669292.48125</grossMass>
      <ConsignmentItem>
        <goodsItemNumber>18914</goodsItemNumber><declarationGoodsItemNumber>1458</declarationGoodsItemNumber>
        <Commodity><descriptionOfGoods>Jeans</descriptionOfGoods></Commodity>
        <Packaging><sequenceNumber>48711</sequenceNumber><typeOfPackages>Oi</typeOfPackages></Packaging>
      </ConsignmentItem>
    </HouseConsignment>
  </Consignment>
</ncts:CC015C>`;

describe('NCTS XML → HMRC JSON', () => {
  it('writes numbers as numbers, codes and flags as strings, repeating elements as arrays', () => {
    const json = nctsXmlToHmrcJson(hmrcCc015c, 'phase5')!;
    expect(Object.keys(json)).toEqual(['n1:CC015C']);
    const root = json['n1:CC015C'] as Record<string, any>;
    expect(root['@PhaseID']).toBe('NCTS5.0');
    expect(root.TransitOperation).toEqual({
      LRN: 'qvRcL',
      declarationType: 'Pbg',
      additionalDeclarationType: 'O',
      security: '8',
      reducedDatasetIndicator: '1',
      bindingItinerary: '0',
    });
    expect(root.Guarantee).toEqual([
      {
        sequenceNumber: 48711,
        guaranteeType: '1',
        otherGuaranteeReference: '1qJMA6MbhnnrOJJjHBHX',
        GuaranteeReference: [],
      },
    ]);
    expect(root.Consignment.grossMass).toBe(6430669292.48125);
    const house = root.Consignment.HouseConsignment[0];
    expect(house.sequenceNumber).toBe(48711);
    expect(house.ConsignmentItem[0]).toMatchObject({
      goodsItemNumber: 18914,
      declarationGoodsItemNumber: 1458,
      Commodity: { descriptionOfGoods: 'Jeans', DangerousGoods: [] },
      Packaging: [{ sequenceNumber: 48711, typeOfPackages: 'Oi' }],
      PreviousDocument: [],
    });
    // Optional single elements that are absent are left out, not null.
    expect('correlationIdentifier' in root).toBe(false);
  });

  it('keeps the digits of a decimal exactly and leaves dates as written', () => {
    const xml = hmrcCc015c
      .replace(
        '<grossMass>6430669292.48125</grossMass>',
        '<grossMass>12345678901234567.123456</grossMass>',
      )
      .replace('2022-01-22T07:43:36', '2022-01-22T07:43:36');
    expect(nctsXmlToHmrcJsonText(xml, 'phase5')).toContain('"grossMass":12345678901234567.123456');
    expect(nctsXmlToHmrcJsonText(xml, 'phase5')).toContain(
      '"preparationDateAndTime":"2022-01-22T07:43:36"',
    );
  });

  it('reads the committed shape tables from the vendored XSDs (regenerate: gen:json-shapes)', () => {
    const xsd = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'xsd');
    expect(readSchemaShapes(join(xsd, 'phase5'))).toEqual(phase5);
    expect(readSchemaShapes(join(xsd, 'phase6'))).toEqual(phase6);
  });
});
