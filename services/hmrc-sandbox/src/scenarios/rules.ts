import type { FunctionalErrorParams } from '@ctc-hub/ncts-testkit';
import type { LocationOfGoods, SubmissionFeatures } from './features.js';

/**
 * The business checks NCTS makes after the schema, as far as the trader test pack exercises
 * them. Each returns the functional errors NCTS would report (empty: the check passes).
 */

/**
 * Guarantees the sandbox's guarantee management holds as unusable, as HMRC's Trader Test holds
 * its test guarantees (the pack's "invalid GRN" scenarios use these). Any other GRN whose
 * country matches the office of departure is taken as valid: the sandbox does not know every
 * guarantee NCTS knows.
 */
export const unusableGuarantees: Readonly<Record<string, string>> = Object.freeze({
  '23GB00000100000D0': 'revoked',
  '20XI0000010000110': 'expired',
});

/** Guarantee types that carry a GRN (0, 1, 2, 4, 9). */
const grnTypes = new Set(['0', '1', '2', '4', '9']);

/** The guarantee check at the office of departure (IE055 when it fails). */
export function guaranteeErrors(
  features: SubmissionFeatures,
  officeOfDeparture: string | undefined,
): FunctionalErrorParams[] {
  const errors: FunctionalErrorParams[] = [];
  const officeCountry = officeOfDeparture?.slice(0, 2);
  features.guarantees.forEach((guarantee, index) => {
    if (guarantee.guaranteeType !== undefined && !grnTypes.has(guarantee.guaranteeType)) return;
    const pointer = `/CC015C/Guarantee[${index + 1}]/GuaranteeReference/GRN`;
    const grnCountry = guarantee.grn.slice(2, 4);
    if (officeCountry !== undefined && grnCountry !== officeCountry) {
      errors.push({
        errorPointer: pointer,
        errorCode: '12',
        errorReason: 'R0200',
        originalAttributeValue: guarantee.grn,
      });
    } else if (unusableGuarantees[guarantee.grn] !== undefined) {
      errors.push({
        errorPointer: pointer,
        errorCode: '12',
        errorReason: 'G0200',
        originalAttributeValue: guarantee.grn,
      });
    }
  });
  return errors;
}

/**
 * UN/LOCODEs of the United Kingdom (Great Britain and Northern Ireland) the sandbox knows
 * (a subset of code list CL144: the ports, airports and inland locations transit goods use).
 */
export const knownUkLocodes: ReadonlySet<string> = new Set([
  'GBABD',
  'GBAVO',
  'GBBEL',
  'GBBHX',
  'GBBRS',
  'GBCBF',
  'GBCVT',
  'GBDVR',
  'GBEMA',
  'GBFXT',
  'GBGLW',
  'GBGRK',
  'GBGRG',
  'GBHHM',
  'GBHRW',
  'GBHUL',
  'GBIMM',
  'GBLAR',
  'GBLBA',
  'GBLGP',
  'GBLGW',
  'GBLHR',
  'GBLIV',
  'GBLON',
  'GBMAN',
  'GBMNC',
  'GBNCL',
  'GBPME',
  'GBPOO',
  'GBPTM',
  'GBSOU',
  'GBSTN',
  'GBTEE',
  'GBTHP',
  'GBTIL',
  'GBWPT',
  'GBFOL',
  'GBBFS',
  'GBEDI',
  'GBPIK',
]);

const locodePattern = /^[A-Z]{2}[A-Z2-9]{3}$/;

/** Location of goods: a UN/LOCODE must exist; qualifier Y (authorisation) needs its number. */
export function locationErrors(
  location: LocationOfGoods | undefined,
  root: string,
): FunctionalErrorParams[] {
  if (location === undefined) return [];
  const base = `/${root}/Consignment/LocationOfGoods`;
  const errors: FunctionalErrorParams[] = [];
  const code = location.unLocode;
  if (code !== undefined) {
    const known = locodePattern.test(code) && (!code.startsWith('GB') || knownUkLocodes.has(code));
    if (!known)
      errors.push({
        errorPointer: `${base}/UNLocode`,
        errorCode: '12',
        errorReason: 'C0447',
        originalAttributeValue: code,
      });
  }
  if (location.qualifierOfIdentification === 'U' && code === undefined)
    errors.push({ errorPointer: `${base}/UNLocode`, errorCode: '13', errorReason: 'C0447' });
  if (location.qualifierOfIdentification === 'Y' && !location.authorisationNumber)
    errors.push({
      errorPointer: `${base}/authorisationNumber`,
      errorCode: '13',
      errorReason: 'C0448',
    });
  return errors;
}

/** IE044: the state of the seals is required (the goods travelled sealed). */
export function unloadingErrors(features: SubmissionFeatures): FunctionalErrorParams[] {
  return features.stateOfSeals === undefined
    ? [
        {
          errorPointer: '/CC044C/UnloadingRemark/stateOfSeals',
          errorCode: '13',
          errorReason: 'C0483',
        },
      ]
    : [];
}

/** Unloading remarks that report broken seals: major discrepancies for the office of departure. */
export const reportsMajorDiscrepancies = (features: SubmissionFeatures): boolean =>
  features.stateOfSeals === '0';

export const isPreLodged = (features: SubmissionFeatures): boolean =>
  features.additionalDeclarationType === 'D';

/** IE007 under the normal procedure (no authorised consignee): released without unloading. */
export const isNormalArrival = (features: SubmissionFeatures): boolean =>
  features.simplifiedProcedure === '0';
