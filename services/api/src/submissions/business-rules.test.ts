import { buildMessage, type GeneratedMessageType } from '@ctc-hub/ncts-testkit';
import { CountingValidator, endpointFor, errorOf, example, submit } from './test-helpers.js';

// HMRC's business rules (reference §3.5, §4.3) on messages from the ncts generators, which are
// schema-valid, so each case isolates the rule it breaks.

const departures: GeneratedMessageType[] = ['IE015', 'IE013', 'IE014', 'IE170'];
const arrivals: GeneratedMessageType[] = ['IE007', 'IE044'];

/** Params putting the message's routing office in `office`. */
const officeParams = (type: GeneratedMessageType, office: string) =>
  arrivals.includes(type) ? { officeOfDestination: office } : { officeOfDeparture: office };

const officeNode = (type: GeneratedMessageType) =>
  arrivals.includes(type) ? 'CustomsOfficeOfDestinationActual' : 'CustomsOfficeOfDeparture';

const businessError = (...messages: string[]) => ({
  status: 400,
  code: 'BUSINESS_VALIDATION_ERROR',
  message: messages[0],
  // Each at the element it is about: a line, a column and a path in the document.
  validationErrors: messages.map((message) => ({
    lineNumber: expect.any(Number),
    columnNumber: expect.any(Number),
    elementPath: expect.stringMatching(/^\/CC\d{3}C\//),
    message,
  })),
});

describe('HMRC business rules', () => {
  const validator = new CountingValidator();
  afterAll(() => validator.close());
  const check = (type: GeneratedMessageType, xml: string | Buffer) =>
    submit(validator, xml, endpointFor(type));

  const allTypes = [...departures, ...arrivals];
  const gbAndXi = allTypes.flatMap((type) =>
    (['GB000060', 'XI000142'] as const).map((office) => [type, office] as const),
  );

  it.each(gbAndXi)(
    'accepts a generated %s for office %s (NTA of its country)',
    async (type, office) => {
      const xml = buildMessage(type, officeParams(type, office));
      expect(xml).toContain(`<messageRecipient>NTA.${office.slice(0, 2)}</messageRecipient>`);
      const result = await check(type, xml);
      expect(result).toMatchObject({
        ok: true,
        submission: {
          messageType: type,
          movementType: arrivals.includes(type) ? 'arrival' : 'departure',
          messageEori: 'GB123456789000',
        },
      });
    },
  );

  it.each(allTypes)('%s: refuses NTA.XI for a GB office', async (type) => {
    const xml = buildMessage(type, {
      ...officeParams(type, 'GB000060'),
      messageRecipient: 'NTA.XI',
    });
    expect(errorOf(await check(type, xml))).toEqual(
      businessError(
        `The message recipient country must match the country of the ${officeNode(type)}`,
      ),
    );
  });

  it.each(allTypes)('%s: refuses NTA.GB for an XI office', async (type) => {
    const xml = buildMessage(type, {
      ...officeParams(type, 'XI000142'),
      messageRecipient: 'NTA.GB',
    });
    expect(errorOf(await check(type, xml)).message).toBe(
      `The message recipient country must match the country of the ${officeNode(type)}`,
    );
  });

  it.each(allTypes)('%s: refuses an office outside the UK (FR)', async (type) => {
    // The generator addresses NTA.GB to anything that is not XI, so only the office is wrong.
    const xml = buildMessage(type, officeParams(type, 'FR000060'));
    expect(errorOf(await check(type, xml))).toEqual(
      businessError(
        `The customs office specified for ${officeNode(type)} must be a customs office located in the United Kingdom (FR000060 was specified)`,
      ),
    );
  });

  it.each(['NTA.FR', 'nta.gb', 'GB', 'NTA.GBR'])('refuses the recipient %j', async (recipient) => {
    const xml = buildMessage('IE015', { messageRecipient: recipient });
    expect(errorOf(await check('IE015', xml))).toEqual(
      businessError(
        `The message recipient must be either NTA.GB or NTA.XI (${recipient} was specified)`,
      ),
    );
  });

  it('accepts a recipient with surrounding whitespace (known divergence from HMRC)', async () => {
    // HMRC compares the text as written and would refuse this; the ncts summary trims values
    // and keeps no raw copy. Forwarding it costs one HMRC call that HMRC then refuses.
    const xml = buildMessage('IE015', { messageRecipient: 'NTA.GB ' });
    expect((await check('IE015', xml)).ok).toBe(true);
  });

  it('reports every rule broken, HMRC first error as the message', async () => {
    const xml = buildMessage('IE013', {
      officeOfDeparture: 'FR000060',
      messageRecipient: 'NTA.FR',
      mrn: '24FR000060ABCDEFG1',
    }).replace('<MRN>', '<LRN>LRN-BOTH-1</LRN><MRN>');
    expect(errorOf(await check('IE013', xml))).toEqual(
      businessError(
        'The customs office specified for CustomsOfficeOfDeparture must be a customs office located in the United Kingdom (FR000060 was specified)',
        'The message recipient must be either NTA.GB or NTA.XI (NTA.FR was specified)',
        'Only an LRN or MRN must be specified, both were found (rule C0467)',
      ),
    );
  });

  describe('rule C0467 (IE013 only, as HMRC)', () => {
    it('accepts an IE013 naming the movement by LRN or by MRN', async () => {
      expect((await check('IE013', buildMessage('IE013'))).ok).toBe(true);
      expect((await check('IE013', buildMessage('IE013', { mrn: '24GB000060ABCDEFG1' }))).ok).toBe(
        true,
      );
    });

    it('refuses an IE013 with neither', async () => {
      const xml = buildMessage('IE013').replace(/<LRN>[^<]*<\/LRN>/, '');
      expect(errorOf(await check('IE013', xml))).toEqual(
        businessError('A LRN or MRN must be specified, neither were found (rule C0467)'),
      );
    });

    it('does not apply it to IE014 or IE170', async () => {
      // cc014c-valid names neither; the sandbox refuses that, HMRC does not.
      const ie014 = example('cc014c-valid.xml')
        .toString('utf8')
        .replace(
          '<messageRecipient>token</messageRecipient>',
          '<messageRecipient>NTA.GB</messageRecipient>',
        );
      expect((await check('IE014', ie014)).ok).toBe(true);
      const ie014Both = buildMessage('IE014', { mrn: '24GB000060ABCDEFG1' }).replace(
        '<MRN>',
        '<LRN>LRN-BOTH-2</LRN><MRN>',
      );
      expect((await check('IE014', ie014Both)).ok).toBe(true);
    });
  });
});
