import { readFileSync } from 'node:fs';
import {
  catalogueByRoot,
  XsdValidator,
  type SchemaPhase,
  type ValidationResult,
} from '@ctc-hub/ncts';
import { fixturePath } from '@ctc-hub/testing';
import {
  validateSubmission,
  type SubmissionEndpoint,
  type SubmissionInput,
  type SubmissionValidation,
} from './validate.js';

// Shared by the submissions tests; not used by production code.

export const examplesDir = fixturePath('ncts/examples/phase5');
export const example = (name: string): Buffer => readFileSync(`${examplesDir}/${name}`);

/** HMRC's phase 4 (API 1.0) IE015 example. */
export const readPhase4 = (): Buffer =>
  readFileSync(fixturePath('ncts/examples/phase4/cc015b-example.xml'));

/** HMRC's small-route limit, what the api will pass. */
export const smallMessageLimit = 5_000_000;

export const endpointKinds = [
  'new-departure',
  'departure-message',
  'new-arrival',
  'arrival-message',
] as const satisfies readonly SubmissionEndpoint['kind'][];

/** The route of each endpoint, as error messages name it. */
export const routeOf: Record<SubmissionEndpoint['kind'], string> = {
  'new-departure': 'POST /v1/departures',
  'departure-message': 'POST /v1/departures/{departureId}/messages',
  'new-arrival': 'POST /v1/arrivals',
  'arrival-message': 'POST /v1/arrivals/{arrivalId}/messages',
};

/** The endpoint a trader would POST this message type to. */
export function endpointFor(messageType: string): SubmissionEndpoint {
  switch (messageType) {
    case 'IE015':
      return { kind: 'new-departure' };
    case 'IE007':
      return { kind: 'new-arrival' };
    case 'IE044':
      return { kind: 'arrival-message' };
    default:
      return catalogueByRoot(`CC${messageType.slice(2)}C`)?.movementType === 'arrival'
        ? { kind: 'arrival-message' }
        : { kind: 'departure-message' };
  }
}

/** A real XsdValidator that counts the validations it is asked for. */
export class CountingValidator {
  readonly #validator: XsdValidator;
  calls: SchemaPhase[] = [];

  constructor() {
    this.#validator = new XsdValidator({ threads: 1 });
  }

  validate(xml: Buffer | string, phase: SchemaPhase): Promise<ValidationResult> {
    this.calls.push(phase);
    return this.#validator.validate(xml, phase);
  }

  close(): Promise<void> {
    return this.#validator.close();
  }
}

/** validateSubmission with the api's usual inputs: XML, API 2.1, 5 MB. */
export function submit(
  validator: CountingValidator,
  xml: Buffer | string,
  endpoint: SubmissionEndpoint,
  overrides: Partial<Omit<SubmissionInput, 'xml' | 'endpoint' | 'validator'>> = {},
): Promise<SubmissionValidation> {
  return validateSubmission({
    xml: typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml,
    contentType: 'application/xml',
    endpoint,
    apiVersion: '2.1',
    validator,
    maxBytes: smallMessageLimit,
    ...overrides,
  });
}

/** The error body of a failed validation; fails the test when it passed. */
export function errorOf(result: SubmissionValidation): {
  status: number;
  code: string;
  message: string;
  validationErrors?: { lineNumber: number; columnNumber: number; message: string }[];
} {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.submission)}`);
  return { status: result.status, ...result.body };
}
