import { NctsParser } from '@ctc-hub/ncts';
import { buildMessage, type GeneratedMessageType } from '@ctc-hub/ncts-testkit';
import {
  CountingValidator,
  endpointFor,
  routeOf,
  endpointKinds,
  errorOf,
  example,
  readPhase4,
  submit,
} from './test-helpers.js';
import { acceptedMessageTypes, type SubmissionEndpoint } from './validate.js';

const validDeclaration = example('cc015c-valid.xml');
const newDeparture: SubmissionEndpoint = { kind: 'new-departure' };

describe('validateSubmission', () => {
  const validator = new CountingValidator();
  afterAll(() => validator.close());
  beforeEach(() => {
    validator.calls = [];
  });

  describe('Content-Type (reference §3.1: exact, lower-cased match)', () => {
    it.each([
      'application/xml',
      'application/xml; charset=utf-8',
      'APPLICATION/XML; CHARSET=UTF-8',
      'Application/Xml',
    ])('accepts %s', async (contentType) => {
      const result = await submit(validator, validDeclaration, newDeparture, { contentType });
      expect(result.ok).toBe(true);
    });

    it.each([
      'application/json',
      'text/xml',
      'application/xml; charset=iso-8859-1',
      // HMRC compares whole strings: other spellings of the same media type are refused.
      'application/xml;charset=utf-8',
      'application/xml; charset="utf-8"',
      'application/vnd.hmrc.2.1+xml',
      '',
    ])('refuses %j with 415 before reading the body', async (contentType) => {
      const result = await submit(validator, Buffer.alloc(0), newDeparture, { contentType });
      // HMRC's text; for a header meant as XML, ours adds what to send instead, naming UTF-8.
      const meantXml = /^(application|text)\/xml(;|$)/.test(contentType);
      expect(errorOf(result)).toEqual({
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message:
          `Content-type header ${contentType} is not supported!` +
          (meantXml
            ? ' Send Content-Type: application/xml (or application/xml; charset=utf-8) with the declaration encoded in UTF-8.'
            : ''),
      });
    });

    it('refuses a missing Content-Type with HMRC text for that case', async () => {
      const result = await submit(validator, validDeclaration, newDeparture, {
        contentType: undefined,
      });
      expect(errorOf(result)).toEqual({
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'A content-type header is required!',
      });
    });
  });

  describe('size', () => {
    it('refuses an empty body as malformed', async () => {
      expect(errorOf(await submit(validator, Buffer.alloc(0), newDeparture))).toEqual({
        status: 400,
        code: 'BAD_REQUEST',
        message: 'Input was malformed',
        validationErrors: [
          { lineNumber: 0, columnNumber: 0, message: 'The request body is empty' },
        ],
      });
    });

    it('refuses a whitespace-only body as malformed', async () => {
      const error = errorOf(await submit(validator, ' \n\t', newDeparture));
      expect(error).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
      expect(error.validationErrors?.[0]?.message).toMatch(/empty/);
    });

    it('takes a body of exactly maxBytes and refuses one byte more with 413', async () => {
      const maxBytes = validDeclaration.byteLength;
      expect((await submit(validator, validDeclaration, newDeparture, { maxBytes })).ok).toBe(true);
      expect(
        errorOf(
          await submit(validator, validDeclaration, newDeparture, { maxBytes: maxBytes - 1 }),
        ),
      ).toEqual({
        status: 413,
        code: 'REQUEST_ENTITY_TOO_LARGE',
        message: 'Request Entity Too Large',
      });
    });
  });

  describe('malformed and unsafe XML (400 BAD_REQUEST, never reaches the XSD worker)', () => {
    const malformed = async (xml: string | Buffer) => {
      const error = errorOf(await submit(validator, xml, newDeparture));
      expect(error).toMatchObject({
        status: 400,
        code: 'BAD_REQUEST',
        message: 'Input was malformed',
      });
      expect(validator.calls).toEqual([]);
      expect(error.validationErrors).toHaveLength(1);
      return error.validationErrors![0]!;
    };

    it('reports where a truncated message ends', async () => {
      const text = validDeclaration.toString('utf8');
      const issue = await malformed(text.slice(0, text.indexOf('<Consignment>') + 5));
      expect(issue.lineNumber).toBeGreaterThan(20);
      expect(issue.columnNumber).toBeGreaterThan(0);
      expect(issue.message).not.toMatch(/\(line/);
    });

    it('reports a mismatched closing tag with its line', async () => {
      const text = validDeclaration
        .toString('utf8')
        .replace('</messageIdentification>', '</messageIdentifier>');
      const issue = await malformed(text);
      expect(issue.lineNumber).toBe(5);
    });

    it('refuses text that is not XML', async () => {
      const issue = await malformed('{"n1:CC015C": {}}');
      expect(issue.message).toMatch(/not XML/);
    });

    it('refuses a DOCTYPE with an external entity (XXE)', async () => {
      const xml = `<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ncts:CC015C PhaseID="NCTS5.0" xmlns:ncts="http://ncts.dgtaxud.ec"><messageSender>&xxe;</messageSender></ncts:CC015C>`;
      const issue = await malformed(xml);
      expect(issue.message).toMatch(/DOCTYPE/);
      expect(issue.lineNumber).toBe(2);
    });

    it('refuses entity expansion bombs (billion laughs)', async () => {
      const xml = `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<ncts:CC015C xmlns:ncts="http://ncts.dgtaxud.ec">&lol2;</ncts:CC015C>`;
      expect((await malformed(xml)).message).toMatch(/DOCTYPE/);
    });

    it('refuses absurd nesting', async () => {
      const depth = 200;
      const xml = `<ncts:CC015C xmlns:ncts="http://ncts.dgtaxud.ec">${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</ncts:CC015C>`;
      expect((await malformed(xml)).message).toMatch(/nest|deep|depth/i);
    });

    it('refuses bytes that are not UTF-8, saying where and asking for UTF-8', async () => {
      const latin1 = Buffer.from(
        validDeclaration.toString('utf8').replace('<LRN>DHbrfgDQJRm', '<LRN>DHbrfgDQJR\u00e9'),
        'latin1',
      );
      const lines = latin1.toString('latin1').split('\n');
      const line = lines.findIndex((text) => text.includes('\u00e9'));
      expect(await malformed(latin1)).toEqual({
        lineNumber: line + 1,
        columnNumber: lines[line]!.indexOf('\u00e9') + 1,
        message:
          'The body is not valid UTF-8. HMRC accepts declarations only in UTF-8: convert the document to UTF-8.',
      });
    });
  });

  describe('character encodings other than UTF-8 (encoding.ts: as HMRC answers, naming UTF-8)', () => {
    const malformed = async (xml: Buffer) => {
      const error = errorOf(await submit(validator, xml, newDeparture));
      expect(error).toMatchObject({
        status: 400,
        code: 'BAD_REQUEST',
        message: 'Input was malformed',
      });
      expect(validator.calls).toEqual([]);
      expect(error.validationErrors).toHaveLength(1);
      return error.validationErrors![0]!;
    };
    const text = validDeclaration.toString('utf8');
    const withDeclaration = (encoding: string) =>
      `<?xml version="1.0" encoding="${encoding}"?>\n${text.replace(/^<\?xml[^>]*>\s*/, '')}`;
    const utf16le = (value: string) => Buffer.from(value, 'utf16le');
    const utf16be = (value: string) => utf16le(value).swap16();

    it.each([
      [
        'UTF-16LE with a byte order mark',
        Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(text)]),
      ],
      [
        'UTF-16BE with a byte order mark',
        Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text)]),
      ],
      ['UTF-16LE declared, no byte order mark', utf16le(withDeclaration('UTF-16'))],
      ['UTF-16BE, no byte order mark', utf16be(text)],
    ])('refuses %s with 400, naming UTF-16 and UTF-8', async (_name, body) => {
      const issue = await malformed(body);
      expect(issue.message).toMatch(
        /^The body (is|looks like) UTF-16 .*HMRC accepts declarations only in UTF-8/,
      );
    });

    it('refuses a UTF-32 body', async () => {
      const body = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x00]), Buffer.alloc(8)]);
      expect((await malformed(body)).message).toMatch(/^The body is UTF-32 .*only in UTF-8/);
    });

    it('forwards an ISO-8859-1 declaration whose bytes are all ASCII, unchanged, as HMRC takes it', async () => {
      for (const encoding of ['ISO-8859-1', 'iso-8859-1', 'US-ASCII', 'UTF-8', 'utf-8']) {
        const result = await submit(validator, withDeclaration(encoding), newDeparture);
        expect(result.ok).toBe(true);
      }
    });

    it('refuses an ISO-8859-1 declaration with a character outside ASCII, saying where', async () => {
      const latin1 = Buffer.from(
        withDeclaration('ISO-8859-1').replace('<LRN>DHbrfgDQJRm', '<LRN>DHbrfgDQJR\u00e9'),
        'latin1',
      );
      const lines = latin1.toString('latin1').split('\n');
      const line = lines.findIndex((value) => value.includes('\u00e9'));
      expect(await malformed(latin1)).toEqual({
        lineNumber: line + 1,
        columnNumber: lines[line]!.indexOf('\u00e9') + 1,
        message:
          'The XML declaration says encoding="ISO-8859-1" and the body has a character outside ASCII, ' +
          'which HMRC would store garbled (it reads every body as UTF-8). ' +
          'HMRC accepts declarations only in UTF-8: convert the document to UTF-8 and declare encoding="UTF-8".',
      });
    });

    it.each(['windows-1252', 'UTF-16', 'EBCDIC-US'])(
      "refuses a declaration of encoding %s in an 8-bit document, as HMRC's parser does",
      async (encoding) => {
        expect(await malformed(Buffer.from(withDeclaration(encoding), 'utf8'))).toEqual({
          lineNumber: 1,
          columnNumber: 1,
          message: `The XML declaration says encoding="${encoding}". HMRC accepts declarations only in UTF-8: convert the document to UTF-8 and declare encoding="UTF-8".`,
        });
      },
    );

    it('refuses invalid UTF-8 under a UTF-8 declaration, naming the declaration', async () => {
      const body = Buffer.from(
        withDeclaration('UTF-8').replace('<LRN>DHbrfgDQJRm', '<LRN>DHbrfgDQJR\u00e9'),
        'latin1',
      );
      expect((await malformed(body)).message).toBe(
        'The body is not valid UTF-8 although its XML declaration says encoding="UTF-8". HMRC accepts declarations only in UTF-8: convert the document to UTF-8.',
      );
    });
  });

  describe('message type for the endpoint (400 BAD_REQUEST "IE0xx is not a valid message type")', () => {
    const submittable: GeneratedMessageType[] = [
      'IE015',
      'IE013',
      'IE014',
      'IE170',
      'IE007',
      'IE044',
    ];

    it('each endpoint takes the types of reference §3.2', () => {
      expect(endpointKinds.map((kind) => [kind, acceptedMessageTypes({ kind })])).toEqual([
        ['new-departure', ['IE015']],
        ['departure-message', ['IE013', 'IE014', 'IE170']],
        ['new-arrival', ['IE007']],
        ['arrival-message', ['IE044']],
      ]);
    });

    const wrongPairs = submittable.flatMap((type) =>
      endpointKinds
        .filter((kind) => kind !== endpointFor(type).kind)
        .map((kind) => [type, kind] as const),
    );

    it.each(wrongPairs)('%s on %s', async (type, kind) => {
      const result = await submit(validator, buildMessage(type), { kind });
      expect(errorOf(result)).toEqual({
        status: 400,
        code: 'BAD_REQUEST',
        message: `${type} is not a valid message type on ${routeOf[kind]}: send it to ${routeOf[endpointFor(type).kind]}`,
      });
      expect(validator.calls).toEqual([]);
    });

    it.each([
      ['IE028', 'departure-message'],
      ['IE056', 'departure-message'],
      ['IE928', 'new-departure'],
      ['IE043', 'arrival-message'],
      ['IE057', 'new-arrival'],
    ] as const)('refuses %s, an NCTS → trader message, on %s', async (type, kind) => {
      const result = await submit(validator, buildMessage(type), { kind });
      expect(errorOf(result)).toMatchObject({
        message: `${type} is not a valid message type on ${routeOf[kind]}: no route takes it (it is a message NCTS sends to traders)`,
      });
    });

    it('names an unknown root element as written', async () => {
      const xml =
        '<ncts:CC999C xmlns:ncts="http://ncts.dgtaxud.ec"><messageType>CC999C</messageType></ncts:CC999C>';
      expect(errorOf(await submit(validator, xml, newDeparture))).toEqual({
        status: 400,
        code: 'BAD_REQUEST',
        message: 'CC999C is not a valid message type',
      });
      expect(errorOf(await submit(validator, '<html><body/></html>', newDeparture)).message).toBe(
        'html is not a valid message type',
      );
    });

    it('refuses a phase 4 declaration (CC015B) on API 2.1 by its root', async () => {
      const result = await submit(validator, readPhase4(), newDeparture);
      expect(errorOf(result)).toMatchObject({ message: 'CC015B is not a valid message type' });
    });
  });

  describe('messageType element (400 BUSINESS_VALIDATION_ERROR)', () => {
    const mismatch = {
      status: 400,
      code: 'BUSINESS_VALIDATION_ERROR',
      message: "Root node doesn't match with the messageType",
      validationErrors: [
        { lineNumber: 0, columnNumber: 0, message: "Root node doesn't match with the messageType" },
      ],
    };

    it('refuses a messageType other than the root, before the XSD, pointing at it', async () => {
      const xml = buildMessage('IE015').replace(
        '<messageType>CC015C</messageType>',
        '<messageType>CC013C</messageType>',
      );
      const lines = xml.split('\n');
      const line = lines.findIndex((text) => text.includes('<messageType>')) + 1;
      expect(errorOf(await submit(validator, xml, newDeparture))).toEqual({
        ...mismatch,
        validationErrors: [
          {
            lineNumber: line,
            columnNumber: lines[line - 1]!.indexOf('<messageType>') + 1,
            elementPath: '/CC015C/messageType',
            message: "Root node doesn't match with the messageType",
          },
        ],
      });
      expect(validator.calls).toEqual([]);
    });

    it('refuses a message without messageType', async () => {
      const xml = buildMessage('IE015').replace('<messageType>CC015C</messageType>', '');
      expect(errorOf(await submit(validator, xml, newDeparture))).toEqual(mismatch);
    });

    it('accepts whitespace around the value, as HMRC trims it', async () => {
      const xml = buildMessage('IE014', { officeOfDeparture: 'GB000060' }).replace(
        '<messageType>CC014C</messageType>',
        '<messageType> CC014C </messageType>',
      );
      // The XSD then decides: MessageTypes is an enumeration, whitespace-collapsed.
      const result = await submit(validator, xml, { kind: 'departure-message' });
      expect(result.ok ? 'accepted' : errorOf(result).code).not.toBe('BUSINESS_VALIDATION_ERROR');
    });
  });

  describe('schema (400 SCHEMA_VALIDATION)', () => {
    it('returns every schema error with its line, column and element path', async () => {
      const result = await submit(validator, example('cc015c-realistic.xml'), newDeparture);
      const error = errorOf(result);
      expect(error).toMatchObject({
        status: 400,
        code: 'SCHEMA_VALIDATION',
        message: 'Request failed schema validation',
      });
      expect(error.validationErrors).toHaveLength(52);
      expect(error.validationErrors?.[0]).toEqual({
        lineNumber: 27,
        columnNumber: 7,
        elementPath: '/CC015C/HolderOfTheTransitProcedure/Address/country',
        message:
          "Element 'country': [facet 'pattern'] The value 'Gh' is not accepted by the pattern '[A-Z]{2}'.",
      });
    });

    it('checks schemas before business rules', async () => {
      // Wrong recipient and an invalid element: only the schema is reported, as by HMRC.
      const xml = buildMessage('IE015', { messageRecipient: 'NTA.FR' }).replace(
        '<declarationType>T1</declarationType>',
        '<declarationType>T1T1T1</declarationType>',
      );
      expect(errorOf(await submit(validator, xml, newDeparture)).code).toBe('SCHEMA_VALIDATION');
    });
  });

  describe('the accepted submission', () => {
    it('describes a declaration from the message', async () => {
      const result = await submit(validator, example('cc015c-valid-2.xml'), newDeparture);
      expect(result).toEqual({
        ok: true,
        submission: {
          messageType: 'IE015',
          rootElement: 'CC015C',
          movementType: 'departure',
          lrn: 'MDTP-18',
          mrn: null,
          messageIdentification: expect.any(String),
          // messageSender is swp.transit.agent, not an EORI.
          senderEori: null,
          holderEori: 'XI985524247819',
          traderAtDestinationEori: null,
          messageEori: 'XI985524247819',
          messageEoriElement: 'HolderOfTheTransitProcedure/identificationNumber',
        },
      });
      expect(validator.calls).toEqual(['phase5']);
    });

    it('takes the trader at destination as the EORI of an arrival', async () => {
      const xml = buildMessage('IE007', {
        eori: 'GB987654321000',
        officeOfDestination: 'GB000060',
        mrn: '24GB000060ABCDEFG1',
        messageIdentification: 'MSG-IE007-1',
      });
      const result = await submit(validator, xml, { kind: 'new-arrival' });
      expect(result).toEqual({
        ok: true,
        submission: {
          messageType: 'IE007',
          rootElement: 'CC007C',
          movementType: 'arrival',
          lrn: null,
          mrn: '24GB000060ABCDEFG1',
          messageIdentification: 'MSG-IE007-1',
          senderEori: 'GB987654321000',
          holderEori: null,
          traderAtDestinationEori: 'GB987654321000',
          messageEori: 'GB987654321000',
          messageEoriElement: 'TraderAtDestination/identificationNumber',
        },
      });
    });

    it('falls back to an EORI-shaped messageSender when the message names no holder', async () => {
      const xml = example('cc013c-valid.xml')
        .toString('utf8')
        .replace(
          '<messageSender>token</messageSender>',
          '<messageSender>GB123456789000</messageSender>',
        );
      const result = await submit(validator, xml, { kind: 'departure-message' });
      expect(result).toMatchObject({
        ok: true,
        submission: {
          holderEori: null,
          senderEori: 'GB123456789000',
          messageEori: 'GB123456789000',
          messageEoriElement: 'messageSender',
        },
      });
    });

    it('has no messageEori when neither the parties nor the sender give one', async () => {
      const result = await submit(validator, example('cc013c-valid-mrn.xml'), {
        kind: 'departure-message',
      });
      expect(result).toMatchObject({
        ok: true,
        submission: { senderEori: null, messageEori: null, messageEoriElement: null },
      });
    });
  });

  describe('with an NctsParser', () => {
    const parser = new NctsParser({ threadThresholdBytes: 1024 });
    afterAll(() => parser.close());

    it('gives the same answers, the parse of large documents running in a thread', async () => {
      const valid = await submit(validator, validDeclaration, newDeparture, { parser });
      const inline = await submit(validator, validDeclaration, newDeparture);
      expect(valid).toEqual(inline);
      const truncated = validDeclaration.subarray(0, 1500);
      expect(await submit(validator, truncated, newDeparture, { parser })).toEqual(
        await submit(validator, truncated, newDeparture),
      );
      const wrong = await submit(validator, example('cc007c-valid.xml'), newDeparture, { parser });
      expect(errorOf(wrong).message).toBe(
        'IE007 is not a valid message type on POST /v1/departures: send it to POST /v1/arrivals',
      );
    });
  });
});
