import type { MessageSummary, MovementType } from '@ctc-hub/ncts';

/**
 * HMRC's business rules on trader submissions, as transit-movements-validator applies them
 * (hmrc-ctc-reference §3.5, §4.3; `BusinessValidationService.scala` of [VAL], rules in its order):
 *
 * 1. messageType element = root element (checked earlier by validateSubmission, before the XSD).
 * 2. The routing office (CustomsOfficeOfDeparture for departure messages,
 *    CustomsOfficeOfDestinationActual for arrival messages) starts GB or XI; the
 *    messageRecipient is NTA.GB or NTA.XI; and, when both are valid, their countries match.
 *    HMRC reports the office error ahead of the recipient error.
 * 3. LRN pattern for IE015: behind `validate-lrn.enabled`, which is false in HMRC's
 *    application.conf, so not applied (cc015c-invalid-lrn.xml only fails with it switched on).
 * 4. Rule C0467, IE013 only: exactly one of TransitOperation/LRN and TransitOperation/MRN.
 *    HMRC does not apply it to IE014 or IE170 (the sandbox applies it to IE014 too).
 *
 * HMRC answers with the first error only; we collect all of them so that a trader can fix a
 * message in one round trip, and keep HMRC's first one as the headline (see validate.ts).
 *
 * Texts are HMRC's, verbatim.
 */

export const messageTypeMismatch = "Root node doesn't match with the messageType";

const routingOffice: Record<MovementType, string> = {
  departure: 'CustomsOfficeOfDeparture',
  arrival: 'CustomsOfficeOfDestinationActual',
};

const ukOffice = /^(GB|XI)/;

export interface BusinessRuleContext {
  movementType: MovementType;
  /**
   * Phase 4 (API 1.0) messages address "NCTS", not NTA.GB/NTA.XI, and HMRC's phase 5 validator
   * never saw them: only the UK-office rule, which routing to GB or XI needs, applies.
   */
  phase4: boolean;
}

/** A business error and the element it is about (a path suffix, for elementByPath). */
export interface BusinessRuleIssue {
  message: string;
  element: string;
}

/** Every business error in `summary`, in HMRC's order; empty when the message passes. */
export function businessRuleErrors(
  summary: MessageSummary,
  context: BusinessRuleContext,
): string[] {
  return businessRuleIssues(summary, context).map((issue) => issue.message);
}

/** businessRuleErrors with the element each error is about, to locate it in the document. */
export function businessRuleIssues(
  summary: MessageSummary,
  context: BusinessRuleContext,
): BusinessRuleIssue[] {
  const errors: BusinessRuleIssue[] = [];
  const officeNode = routingOffice[context.movementType];
  // For arrival messages the summary's officeOfDestination is the actual office: IE007 and
  // IE044 have no declared one.
  const office =
    context.movementType === 'departure' ? summary.officeOfDeparture : summary.officeOfDestination;

  const officeValid = office !== null && ukOffice.test(office);
  if (!officeValid) {
    errors.push({
      message: `The customs office specified for ${officeNode} must be a customs office located in the United Kingdom (${office ?? ''} was specified)`,
      element: `${officeNode}/referenceNumber`,
    });
  }
  if (context.phase4) return errors;

  const recipient = summary.header.messageRecipient;
  const recipientValid = recipient === 'NTA.GB' || recipient === 'NTA.XI';
  if (!recipientValid) {
    errors.push({
      message: `The message recipient must be either NTA.GB or NTA.XI (${recipient ?? ''} was specified)`,
      element: 'messageRecipient',
    });
  }
  if (officeValid && recipientValid && office.slice(0, 2) !== recipient.slice(4)) {
    errors.push({
      message: `The message recipient country must match the country of the ${officeNode}`,
      element: 'messageRecipient',
    });
  }

  if (summary.messageType === 'IE013') {
    if (summary.lrn === null && summary.mrn === null) {
      errors.push({
        message: 'A LRN or MRN must be specified, neither were found (rule C0467)',
        element: 'TransitOperation',
      });
    } else if (summary.lrn !== null && summary.mrn !== null) {
      errors.push({
        message: 'Only an LRN or MRN must be specified, both were found (rule C0467)',
        element: 'TransitOperation/MRN',
      });
    }
  }
  return errors;
}
