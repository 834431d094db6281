import { readdirSync, readFileSync } from 'node:fs';
import { parseNctsMessage } from '@ctc-hub/ncts';
import { fixturePath } from '@ctc-hub/testing';
import {
  CountingValidator,
  endpointFor,
  routeOf,
  errorOf,
  example,
  examplesDir,
  submit,
} from './test-helpers.js';

// Every phase 5 example from HMRC's validator tests (and the TIS), through the endpoint its root
// belongs to on API 2.1, with the outcome HMRC gives. Notes on the surprising ones:
// - cc014c-valid, cc044c-valid and cc170c-valid pass the XSD but address "token", which HMRC's
//   recipient rule refuses: "valid" in HMRC's repository means schema-valid only.
// - cc015c-invalid-lrn passes: its LRN ({{LRN}}) only fails HMRC's LRN pattern, which is switched
//   off in HMRC's configuration (validate-lrn.enabled = false).
// - cc007c-invalid-reference breaks two rules; HMRC names the office first.
// - cc025c, cc029c, cc043c and the ie029 files are NCTS → trader messages: no endpoint takes them.

type Expected =
  | { outcome: 'accepted' }
  | { outcome: 'schema' }
  | { outcome: 'business'; errors: string[] }
  | { outcome: 'not-submittable'; message: string };

const accepted: Expected = { outcome: 'accepted' };
const schema: Expected = { outcome: 'schema' };
const business = (...errors: string[]): Expected => ({ outcome: 'business', errors });
const notSubmittable = (code: string): Expected => ({
  outcome: 'not-submittable',
  message: `${code} is not a valid message type`,
});
const recipientToken =
  'The message recipient must be either NTA.GB or NTA.XI (token was specified)';

const expectations: Record<string, Expected> = {
  'cc007c-invalid-message-sender.xml': schema,
  'cc007c-invalid-recipient.xml': business(recipientToken),
  'cc007c-invalid-ref-office.xml': business(
    'The message recipient country must match the country of the CustomsOfficeOfDestinationActual',
  ),
  'cc007c-invalid-reference.xml': business(
    'The customs office specified for CustomsOfficeOfDestinationActual must be a customs office located in the United Kingdom (GZ123456 was specified)',
    recipientToken,
  ),
  'cc007c-invalid.xml': schema,
  'cc007c-tooManyNodes.xml': schema,
  'cc007c-valid-xi.xml': accepted,
  'cc007c-valid.xml': accepted,
  'cc013c-invalid-both-mrn-and-lrn.xml': business(
    'Only an LRN or MRN must be specified, both were found (rule C0467)',
  ),
  'cc013c-invalid-message-sender.xml': schema,
  'cc013c-invalid-no-mrn-lrn.xml': business(
    'A LRN or MRN must be specified, neither were found (rule C0467)',
  ),
  'cc013c-invalid.xml': schema,
  'cc013c-valid-mrn.xml': accepted,
  'cc013c-valid.xml': accepted,
  'cc014c-invalid-message-sender.xml': schema,
  'cc014c-invalid.xml': schema,
  'cc014c-valid.xml': business(recipientToken),
  'cc015c-invalid-lrn.xml': accepted,
  'cc015c-invalid-message-sender.xml': schema,
  'cc015c-invalid-reference-departure.xml': business(
    'The customs office specified for CustomsOfficeOfDeparture must be a customs office located in the United Kingdom (XB3KMA8M was specified)',
  ),
  'cc015c-invalid.xml': schema,
  'cc015c-minimal.xml': schema,
  'cc015c-realistic.xml': schema,
  'cc015c-valid-2.xml': accepted,
  'cc015c-valid.xml': accepted,
  'cc025c-valid.xml': notSubmittable('IE025'),
  'cc029c-valid.xml': notSubmittable('IE029'),
  'cc043c-valid.xml': notSubmittable('IE043'),
  'cc044c-invalid-message-sender.xml': schema,
  'cc044c-invalid.xml': schema,
  'cc044c-valid.xml': business(recipientToken),
  'cc170c-invalid-message-sender.xml': schema,
  'cc170c-invalid.xml': schema,
  'cc170c-valid.xml': business(recipientToken),
  'ie029-example-november-2023.xml': notSubmittable('IE029'),
  'ie029-post-transition-tad.xml': notSubmittable('IE029'),
};

/** file → first libxml2 error (truncated), from the table in ncts/README.md. */
function readmeSchemaErrors(): Map<string, string> {
  const readme = readFileSync(fixturePath('ncts/README.md'), 'utf8');
  const verdicts = new Map<string, string>();
  for (const [, file, verdict] of readme.matchAll(
    /^\| `([^`]+\.xml)` \| XSD-invalid: (.+?) \|$/gm,
  )) {
    if (file !== undefined && verdict !== undefined) verdicts.set(file, verdict);
  }
  return verdicts;
}

describe('validateSubmission on the phase 5 examples', () => {
  const validator = new CountingValidator();
  afterAll(() => validator.close());
  const schemaErrors = readmeSchemaErrors();

  it('has an expectation for every example file, and schema failures where the README has them', () => {
    expect(Object.keys(expectations).sort()).toEqual(readdirSync(examplesDir).sort());
    const expectedSchemaFailures = Object.entries(expectations)
      .filter(([, expected]) => expected.outcome === 'schema')
      .map(([file]) => file);
    // Every README schema failure is a submittable type, except the NCTS → trader messages.
    expect(expectedSchemaFailures.sort()).toEqual(
      [...schemaErrors.keys()].filter((file) => !/^(cc029c|ie029)/.test(file)).sort(),
    );
  });

  it.each(Object.entries(expectations))('%s', async (file, expected) => {
    const xml = example(file);
    const parsed = parseNctsMessage(xml);
    if (!parsed.ok) throw new Error(`example ${file} does not parse`);
    const result = await submit(validator, xml, endpointFor(parsed.summary.messageType ?? ''));

    switch (expected.outcome) {
      case 'accepted':
        expect(result).toEqual({
          ok: true,
          submission: expect.objectContaining({
            messageType: parsed.summary.messageType,
            rootElement: parsed.summary.rootElement,
          }),
        });
        return;
      case 'schema': {
        const error = errorOf(result);
        expect(error).toMatchObject({
          status: 400,
          code: 'SCHEMA_VALIDATION',
          message: 'Request failed schema validation',
        });
        const first = error.validationErrors?.[0];
        expect(first?.message.startsWith(schemaErrors.get(file) ?? '?')).toBe(true);
        expect(first?.lineNumber).toBeGreaterThan(1);
        return;
      }
      case 'business':
        expect(errorOf(result)).toEqual({
          status: 400,
          code: 'BUSINESS_VALIDATION_ERROR',
          message: expected.errors[0],
          validationErrors: expected.errors.map((message) => ({
            lineNumber: expect.any(Number),
            columnNumber: expect.any(Number),
            elementPath: expect.stringMatching(/^\/CC\d{3}C\//),
            message,
          })),
        });
        return;
      case 'not-submittable':
        expect(errorOf(result)).toEqual({
          status: 400,
          code: 'BAD_REQUEST',
          message: `${expected.message} on ${routeOf[endpointFor(parsed.summary.messageType ?? '').kind]}: no route takes it (it is a message NCTS sends to traders)`,
        });
        return;
    }
  });
});
