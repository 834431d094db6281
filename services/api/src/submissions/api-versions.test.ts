import { buildMessage } from '@ctc-hub/ncts-testkit';
import { CountingValidator, errorOf, example, readPhase4, submit } from './test-helpers.js';
import { schemaSetForApiVersion, type SubmissionEndpoint } from './validate.js';

// Which schemas and rules apply per CTC Traders API version: 2.x phase 5, 3.0 phase 6, and the
// retired 1.0 (phase 4) without schemas.

const validDeclaration = example('cc015c-valid.xml');
const newDeparture: SubmissionEndpoint = { kind: 'new-departure' };

describe('validateSubmission per API version', () => {
  const validator = new CountingValidator();
  afterAll(() => validator.close());
  beforeEach(() => {
    validator.calls = [];
  });

  describe('versions', () => {
    it('maps versions to schema sets and refuses unknown ones', () => {
      expect(['1.0', '2.0', '2.1', '3.0'].map(schemaSetForApiVersion)).toEqual([
        'phase4',
        'phase5',
        'phase5',
        'phase6',
      ]);
      for (const version of ['4.0', '2', 'latest', '']) {
        expect(() => schemaSetForApiVersion(version)).toThrow(RangeError);
      }
    });

    it('throws for an unsupported version whatever the request', async () => {
      await expect(
        submit(validator, validDeclaration, newDeparture, { apiVersion: '4.0' }),
      ).rejects.toThrow('Unsupported CTC Traders API version 4.0');
    });

    it('validates against phase 5 for 2.1 and phase 6 for 3.0', async () => {
      // A PhaseID only phase 6 knows: invalid on 2.1, valid on 3.0.
      const phase6 = buildMessage('IE015').replace('PhaseID="NCTS5.0"', 'PhaseID="NCTS6"');
      const on21 = errorOf(await submit(validator, phase6, newDeparture));
      expect(on21.code).toBe('SCHEMA_VALIDATION');
      expect(on21.validationErrors?.[0]?.message).toMatch(/PhaseID/);
      expect(await submit(validator, phase6, newDeparture, { apiVersion: '3.0' })).toMatchObject({
        ok: true,
      });
      // And HMRC's cc015c-valid (phase 5) misses a Commodity child phase 6 requires.
      const old = errorOf(
        await submit(validator, validDeclaration, newDeparture, { apiVersion: '3.0' }),
      );
      expect(old.validationErrors?.[0]?.message).toMatch(/^Element 'Commodity': Missing child/);
      expect(validator.calls).toEqual(['phase5', 'phase6', 'phase6']);
    });

    it('applies the business rules on 3.0 too', async () => {
      const xml = buildMessage('IE015', { messageRecipient: 'NTA.XI' }).replace(
        'PhaseID="NCTS5.0"',
        'PhaseID="NCTS6"',
      );
      const error = errorOf(await submit(validator, xml, newDeparture, { apiVersion: '3.0' }));
      expect(error.message).toBe(
        'The message recipient country must match the country of the CustomsOfficeOfDeparture',
      );
    });

    describe('1.0 (phase 4: no schemas, so no XSD check)', () => {
      it('accepts a phase 4 declaration without calling the validator', async () => {
        const result = await submit(validator, readPhase4(), newDeparture, { apiVersion: '1.0' });
        expect(result).toEqual({
          ok: true,
          submission: expect.objectContaining({
            messageType: 'IE015',
            rootElement: 'CC015B',
            movementType: 'departure',
            lrn: '01CTC201909121215',
          }),
        });
        expect(validator.calls).toEqual([]);
      });

      it('refuses a phase 5 root on 1.0', async () => {
        const result = await submit(validator, validDeclaration, newDeparture, {
          apiVersion: '1.0',
        });
        expect(errorOf(result).message).toBe('CC015C is not a valid message type');
      });

      it('accepts a country-prefixed messageType (GB015B) and refuses another type', async () => {
        const gb = readPhase4()
          .toString('utf8')
          .replace('>CC015B</MesTypMES20>', '>GB015B</MesTypMES20>');
        expect((await submit(validator, gb, newDeparture, { apiVersion: '1.0' })).ok).toBe(true);
        const other = gb.replace('>GB015B</MesTypMES20>', '>GB014A</MesTypMES20>');
        expect(
          errorOf(await submit(validator, other, newDeparture, { apiVersion: '1.0' })).code,
        ).toBe('BUSINESS_VALIDATION_ERROR');
      });

      it('still requires a UK office of departure', async () => {
        const fr = readPhase4()
          .toString('utf8')
          .replace(/<RefNumEPT1>GB/, '<RefNumEPT1>FR');
        const error = errorOf(await submit(validator, fr, newDeparture, { apiVersion: '1.0' }));
        expect(error.message).toMatch(
          /^The customs office specified for CustomsOfficeOfDeparture must be a customs office located in the United Kingdom \(FR/,
        );
      });
    });
  });
});
