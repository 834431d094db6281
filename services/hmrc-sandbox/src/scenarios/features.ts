/**
 * What NCTS looks at in a submission to decide what happens next: declaration type,
 * authorisations, guarantees, location of goods, unloading remarks. Read from XML that already
 * passed the XSD, so the elements are where the schema puts them.
 */

export interface LocationOfGoods {
  typeOfLocation: string | undefined;
  qualifierOfIdentification: string | undefined;
  authorisationNumber: string | undefined;
  unLocode: string | undefined;
}

export interface GuaranteeReference {
  guaranteeType: string | undefined;
  grn: string;
}

export interface SubmissionFeatures {
  declarationType: string | undefined;
  /** 'A' standard, 'D' pre-lodged. */
  additionalDeclarationType: string | undefined;
  /** Authorisation types, e.g. C521 (authorised consignor), C522 (authorised consignee). */
  authorisations: string[];
  guarantees: GuaranteeReference[];
  location: LocationOfGoods | undefined;
  /** IE007: '1' simplified (authorised consignee), '0' normal. */
  simplifiedProcedure: string | undefined;
  /** IE044 UnloadingRemark. */
  conform: string | undefined;
  stateOfSeals: string | undefined;
}

const elementText = (xml: string, element: string): string | undefined =>
  new RegExp(`<(?:[\\w.-]+:)?${element}>\\s*([^<]*?)\\s*</(?:[\\w.-]+:)?${element}>`).exec(
    xml,
  )?.[1];

const blocks = (xml: string, element: string): string[] =>
  [...xml.matchAll(new RegExp(`<${element}>([\\s\\S]*?)</${element}>`, 'g'))].map(
    (match) => match[1]!,
  );

export function readFeatures(input: Buffer | string): SubmissionFeatures {
  const xml = typeof input === 'string' ? input : input.toString('utf8');
  const guarantees: GuaranteeReference[] = [];
  for (const guarantee of blocks(xml, 'Guarantee')) {
    const guaranteeType = elementText(guarantee, 'guaranteeType');
    for (const reference of blocks(guarantee, 'GuaranteeReference')) {
      const grn = elementText(reference, 'GRN');
      if (grn !== undefined && grn !== '') guarantees.push({ guaranteeType, grn });
    }
  }
  const locationBlock = blocks(xml, 'LocationOfGoods')[0];
  const unloading = blocks(xml, 'UnloadingRemark')[0];
  return {
    declarationType: elementText(xml, 'declarationType'),
    additionalDeclarationType: elementText(xml, 'additionalDeclarationType'),
    authorisations: blocks(xml, 'Authorisation')
      .map((block) => elementText(block, 'type'))
      .filter((type): type is string => type !== undefined),
    guarantees,
    location:
      locationBlock === undefined
        ? undefined
        : {
            typeOfLocation: elementText(locationBlock, 'typeOfLocation'),
            qualifierOfIdentification: elementText(locationBlock, 'qualifierOfIdentification'),
            authorisationNumber: elementText(locationBlock, 'authorisationNumber'),
            unLocode: elementText(locationBlock, 'UNLocode'),
          },
    simplifiedProcedure: elementText(xml, 'simplifiedProcedure'),
    conform: unloading === undefined ? undefined : elementText(unloading, 'conform'),
    stateOfSeals: unloading === undefined ? undefined : elementText(unloading, 'stateOfSeals'),
  };
}
