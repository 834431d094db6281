// Inline parse cost: `pnpm exec tsx packages/ncts/bench/parse-bench.ts` from the repository root.
// Reports µs per parseNctsMessage call for a ~2 KB IE028 and the 33 KB IE029 example.
import { readFileSync } from 'node:fs';
import { fixturePath } from '@ctc-hub/testing';
import { parseNctsMessage } from '../src/parse/parse.js';

const mrnAllocated =
  Buffer.from(`<ncts:CC028C PhaseID="NCTS5.0" xmlns:ncts="http://ncts.dgtaxud.ec">
  <messageSender>NTA.GB</messageSender>
  <messageRecipient>GB123456789000</messageRecipient>
  <preparationDateAndTime>2024-05-14T15:26:40</preparationDateAndTime>
  <messageIdentification>MSG000123456</messageIdentification>
  <messageType>CC028C</messageType>
  <correlationIdentifier>CORR0001</correlationIdentifier>
  <TransitOperation>
    <LRN>0012LRN20240514</LRN>
    <MRN>24GB000246J8NY33L7</MRN>
    <declarationAcceptanceDate>2024-05-14+01:00</declarationAcceptanceDate>
  </TransitOperation>
  <CustomsOfficeOfDeparture>
    <referenceNumber>GB000246</referenceNumber>
  </CustomsOfficeOfDeparture>
  <HolderOfTheTransitProcedure>
    <identificationNumber>GB123456789000</identificationNumber>
    <TIRHolderIdentificationNumber>TIR123</TIRHolderIdentificationNumber>
    <name>Example Forwarding Ltd, Freight and Customs Clearance Department</name>
    <Address>
      <streetAndNumber>Unit 4, Eastern Docks Business Park, 1 Dock Road</streetAndNumber>
      <postcode>CT16 1AA</postcode>
      <city>Dover</city>
      <country>GB</country>
    </Address>
    <ContactPerson>
      <name>Jane Example</name>
      <phoneNumber>+44 1304 000000</phoneNumber>
      <eMailAddress>jane.example@example-forwarding.co.uk</eMailAddress>
    </ContactPerson>
  </HolderOfTheTransitProcedure>
  <Representative>
    <identificationNumber>GB987654321000</identificationNumber>
    <status>2</status>
    <ContactPerson>
      <name>John Example</name>
      <phoneNumber>+44 1304 000001</phoneNumber>
      <eMailAddress>john.example@example-forwarding.co.uk</eMailAddress>
    </ContactPerson>
  </Representative>
</ncts:CC028C>
`);
const release = readFileSync(fixturePath('ncts/examples/phase5/ie029-example-november-2023.xml'));

function microsecondsPerParse(xml: Buffer, iterations: number): number {
  for (let i = 0; i < iterations / 5; i++) parseNctsMessage(xml);
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      if (!parseNctsMessage(xml).ok) throw new Error('benchmark message did not parse');
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  return best;
}

for (const [label, xml, iterations] of [
  ['IE028', mrnAllocated, 20_000],
  ['IE029', release, 1_000],
] as const) {
  const us = microsecondsPerParse(xml, iterations);
  console.log(
    `${label} of ${xml.byteLength} bytes: ${us.toFixed(1)} µs per parse (best of 7 rounds)`,
  );
}
