import { buildIE007, buildIE013, buildIE015, buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { ctcJson, startTestSandbox, waitFor, type TestSandbox } from '../test-helpers.js';

// Submissions as HMRC answers them: Content-Type routing (415), Accept (406), size (413),
// message type for the endpoint, XSD (SCHEMA_VALIDATION) and business rules, duplicate LRN
// (409), the exact 202 bodies, the large-message upload route, and the rate limit (429).

let sandbox: TestSandbox;
let token: string;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.reset();
  // No NCTS answers here: lifecycle.test.ts covers them.
  sandbox.controls.configure({
    lifecycleEnabled: false,
    rateLimitPerSecond: 10_000,
    boxConfigured: true,
  });
  sandbox.receiver.pushes.length = 0;
  token = sandbox.token('GB123456789000');
});

const departures = '/customs/transits/movements/departures';

function post(
  path: string,
  body: string | Buffer | undefined,
  headers: Record<string, string | undefined> = {},
): Promise<Response> {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    authorization: `Bearer ${token}`,
    accept: ctcJson,
    'content-type': 'application/xml',
    ...headers,
  })) {
    if (value !== undefined) merged[name] = value;
  }
  return fetch(`${sandbox.url}${path}`, { method: 'POST', headers: merged, body });
}

const error = async (response: Response) =>
  (await response.json()) as { code: string; message: string; validationErrors?: unknown[] };

describe('POST /movements/departures', () => {
  it('accepts an IE015 with 202 and HMRC’s body, including the boxId', async () => {
    const response = await post(departures, buildIE015({ lrn: 'LRN-ACCEPT-1' }));
    expect(response.status).toBe(202);
    const body = (await response.json()) as Record<string, unknown>;
    const departureId = String(body.departureId);
    const messageId = String(body.messageId);
    expect(Object.keys(body)).toEqual(['_links', 'departureId', 'messageId', 'boxId']);
    expect(body).toEqual({
      _links: {
        self: { href: `${departures}/${departureId}` },
        messages: { href: `${departures}/${departureId}/messages` },
        message: { href: `${departures}/${departureId}/messages/${messageId}` },
      },
      departureId: expect.stringMatching(/^[0-9a-f]{16}$/),
      messageId: expect.stringMatching(/^[0-9a-f]{16}$/),
      boxId: '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e',
    });
    const movement = (await (
      await fetch(`${sandbox.url}${departures}/${departureId}`, {
        headers: { authorization: `Bearer ${token}`, accept: ctcJson },
      })
    ).json()) as Record<string, unknown>;
    expect(movement).toMatchObject({
      id: departureId,
      localReferenceNumber: 'LRN-ACCEPT-1',
      enrollmentEORINumber: 'GB123456789000',
    });
    // No MRN yet: null, as HMRC writes an empty Option.
    expect(movement.movementReferenceNumber).toBeNull();
  });

  it('omits boxId when the application has no box', async () => {
    sandbox.controls.configure({ boxConfigured: false });
    const body = (await (await post(departures, buildIE015())).json()) as Record<string, unknown>;
    expect(body.departureId).toBeDefined();
    expect('boxId' in body).toBe(false);
  });

  it.each([
    ['application/json; charset=utf-8'],
    ['text/xml'],
    ['application/xml;charset=utf-8'],
    ['application/x-www-form-urlencoded'],
  ])('answers 415 to Content-Type %s', async (contentType) => {
    const response = await post(departures, buildIE015(), { 'content-type': contentType });
    expect(response.status).toBe(415);
    expect(await error(response)).toEqual({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: `Content-type header ${contentType} is not supported!`,
    });
  });

  it('accepts application/xml; charset=utf-8 (any case)', async () => {
    expect(
      (await post(departures, buildIE015(), { 'content-type': 'Application/XML; Charset=UTF-8' }))
        .status,
    ).toBe(202);
  });

  it.each([
    'application/vnd.hmrc.2.1+xml',
    'application/vnd.hmrc.2.1+json-xml',
    'application/vnd.hmrc.2.0+json',
  ])('answers 406 to Accept %s', async (accept) => {
    const response = await post(departures, buildIE015(), { accept });
    expect(response.status).toBe(406);
    expect((await error(response)).code).toBe('NOT_ACCEPTABLE');
  });

  describe("character encodings (xml/encoding.ts: what HMRC's first parser reads)", () => {
    const declared = (encoding: string, xml: string) =>
      `<?xml version="1.0" encoding="${encoding}"?>\n${xml.replace(/^<\?xml[^>]*>\s*/, '')}`;
    const utf16le = (value: string) => Buffer.from(value, 'utf16le');

    it.each([
      [
        'UTF-16LE with a byte order mark',
        () => Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(buildIE015())]),
      ],
      [
        'UTF-16BE with a byte order mark',
        () => Buffer.concat([Buffer.from([0xfe, 0xff]), utf16le(buildIE015()).swap16()]),
      ],
      ['UTF-16LE without one', () => utf16le(declared('UTF-16', buildIE015()))],
      ['a declared windows-1252', () => Buffer.from(declared('windows-1252', buildIE015()))],
    ])('answers 400 "Input was malformed" to %s', async (_name, body) => {
      const response = await post(departures, body());
      expect(response.status).toBe(400);
      expect(await error(response)).toEqual({
        code: 'BAD_REQUEST',
        message: 'Input was malformed',
      });
    });

    it('accepts ISO-8859-1, and keeps the body decoded as UTF-8 as HMRC does', async () => {
      const xml = declared('ISO-8859-1', buildIE015({ traderName: 'Caf\u00e9 Transport' }));
      const response = await post(departures, Buffer.from(xml, 'latin1'));
      expect(response.status).toBe(202);
      const { departureId, messageId } = (await response.json()) as Record<string, string>;
      const stored = await fetch(
        `${sandbox.url}${departures}/${departureId}/messages/${messageId}/body`,
        {
          headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.hmrc.2.1+xml' },
        },
      );
      const text = Buffer.from(await stored.arrayBuffer()).toString('utf8');
      expect(text).toContain('Caf\ufffd Transport');
    });
  });

  it('answers 413 above 5,000,000 bytes', async () => {
    const big = buildMessageOfSize('IE015', 5_000_001);
    const response = await post(departures, big);
    expect(response.status).toBe(413);
    expect(await error(response)).toEqual({
      code: 'REQUEST_ENTITY_TOO_LARGE',
      message: 'Request Entity Too Large',
    });
  });

  it('answers 400 SCHEMA_VALIDATION with line numbers for an XSD-invalid declaration', async () => {
    const invalid = buildIE015().replace(/<declarationType>T1<\/declarationType>/, '');
    const response = await post(departures, invalid);
    expect(response.status).toBe(400);
    const body = await error(response);
    expect(body.code).toBe('SCHEMA_VALIDATION');
    expect(body.message).toBe('Request failed schema validation');
    expect(body.validationErrors).toEqual(
      expect.arrayContaining([
        {
          lineNumber: expect.any(Number),
          columnNumber: expect.any(Number),
          message: expect.stringContaining('additionalDeclarationType'),
        },
      ]),
    );
  });

  it('answers 400 SCHEMA_VALIDATION to text that is not XML', async () => {
    const response = await post(departures, 'this is not xml');
    expect(response.status).toBe(400);
    expect((await error(response)).code).toBe('SCHEMA_VALIDATION');
  });

  it('answers 400 BAD_REQUEST to a message type the endpoint does not take', async () => {
    const response = await post(departures, buildIE013());
    expect(response.status).toBe(400);
    expect(await error(response)).toEqual({
      code: 'BAD_REQUEST',
      message: 'IE013 is not a valid message type',
    });
  });

  it.each([
    [
      'a foreign recipient',
      (xml: string) => xml.replace('<messageRecipient>NTA.GB<', '<messageRecipient>NTA.FR<'),
      'The message recipient must be either NTA.GB or NTA.XI (NTA.FR was specified)',
    ],
    [
      'a recipient of the other UK country',
      (xml: string) => xml.replace('<messageRecipient>NTA.GB<', '<messageRecipient>NTA.XI<'),
      'The message recipient country must match the country of the CustomsOfficeOfDeparture',
    ],
    [
      'an office outside the UK',
      (xml: string) =>
        xml.replace(
          '<referenceNumber>GB000060</referenceNumber>\n  </CustomsOfficeOfDeparture>',
          '<referenceNumber>FR000060</referenceNumber>\n  </CustomsOfficeOfDeparture>',
        ),
      'The customs office specified for CustomsOfficeOfDeparture must be a customs office located in the United Kingdom (FR000060 was specified)',
    ],
    [
      'a messageType that is not the root',
      (xml: string) => xml.replace('<messageType>CC015C<', '<messageType>CC013C<'),
      "Root node doesn't match with the messageType",
    ],
  ])('answers 400 BUSINESS_VALIDATION_ERROR to %s', async (_label, change, message) => {
    const response = await post(departures, change(buildIE015()));
    expect(response.status).toBe(400);
    expect(await error(response)).toEqual({ code: 'BUSINESS_VALIDATION_ERROR', message });
  });

  it('answers 409 CONFLICT to a reused LRN of the same trader', async () => {
    expect((await post(departures, buildIE015({ lrn: 'DUPLICATE-1' }))).status).toBe(202);
    const response = await post(departures, buildIE015({ lrn: 'DUPLICATE-1' }));
    expect(response.status).toBe(409);
    expect(await error(response)).toEqual({
      code: 'CONFLICT',
      message: 'LRN DUPLICATE-1 has previously been used and cannot be reused',
    });
    token = sandbox.token('GB999999999999');
    expect(
      (await post(departures, buildIE015({ lrn: 'DUPLICATE-1', eori: 'GB999999999999' }))).status,
    ).toBe(202);
  });

  it('accepts the JSON form of a declaration', async () => {
    const json = {
      'n1:CC015C': {
        '@PhaseID': 'NCTS5.0',
        messageSender: 'GB123456789000',
        messageRecipient: 'NTA.GB',
        preparationDateAndTime: '2025-03-01T10:00:00',
        messageIdentification: 'JSON0001',
        messageType: 'CC015C',
        TransitOperation: {
          LRN: 'JSON-LRN-1',
          declarationType: 'T1',
          additionalDeclarationType: 'A',
          security: '0',
          reducedDatasetIndicator: '0',
          bindingItinerary: '0',
        },
        CustomsOfficeOfDeparture: { referenceNumber: 'GB000060' },
        CustomsOfficeOfDestinationDeclared: { referenceNumber: 'XI000142' },
        HolderOfTheTransitProcedure: { identificationNumber: 'GB123456789000' },
        Guarantee: [
          {
            sequenceNumber: '1',
            guaranteeType: '1',
            GuaranteeReference: [
              {
                sequenceNumber: '1',
                GRN: '24GB0000010000001',
                accessCode: 'AC01',
                amountToBeCovered: '100',
                currency: 'GBP',
              },
            ],
          },
        ],
        Consignment: {
          grossMass: '10',
          HouseConsignment: [
            {
              sequenceNumber: '1',
              grossMass: '10',
              ConsignmentItem: [
                {
                  goodsItemNumber: '1',
                  declarationGoodsItemNumber: '1',
                  Commodity: { descriptionOfGoods: 'Books' },
                  Packaging: [{ sequenceNumber: '1', typeOfPackages: 'BX', numberOfPackages: '1' }],
                },
              ],
            },
          ],
        },
      },
    };
    const response = await post(departures, JSON.stringify(json), {
      'content-type': 'application/json',
    });
    expect(response.status).toBe(202);
    const { departureId, messageId } = (await response.json()) as Record<string, string>;
    const stored = sandbox.controls
      .movement(departureId!)!
      .messages.find((message) => message.id === messageId)!;
    expect(stored.body!.toString()).toContain('<LRN>JSON-LRN-1</LRN>');
    const bad = await post(departures, '{"not": "a message"', {
      'content-type': 'application/json',
    });
    expect(bad.status).toBe(400);
  });

  it('answers 429 MESSAGE_THROTTLED_OUT past the per-application rate, and counts them', async () => {
    sandbox.controls.configure({ rateLimitPerSecond: 3 });
    sandbox.controls.resetStats();
    const other = sandbox.token('GB999999999999');
    const statuses: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      // Different users of the same application share its budget.
      const bearer = index % 2 === 0 ? token : other;
      const response = await fetch(`${sandbox.url}${departures}`, {
        headers: { authorization: `Bearer ${bearer}`, accept: ctcJson },
      });
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.headers.get('retry-after')).toBe('1');
        expect(await error(response)).toEqual({
          code: 'MESSAGE_THROTTLED_OUT',
          message: 'The request for the API is throttled as you have exceeded your quota.',
        });
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(sandbox.controls.stats().throttled).toMatchObject({ total: 2, rateLimit: 2 });
    await new Promise((resolve) => setTimeout(resolve, 1050));
    expect(
      (
        await fetch(`${sandbox.url}${departures}`, {
          headers: { authorization: `Bearer ${token}`, accept: ctcJson },
        })
      ).status,
    ).toBe(200);
  });
});

describe('POST /movements/{id}/messages', () => {
  it('accepts an IE013 on the trader’s own departure with HMRC’s follow-up body', async () => {
    const created = (await (
      await post(departures, buildIE015({ lrn: 'AMEND-1' }))
    ).json()) as Record<string, string>;
    const response = await post(
      `${departures}/${created.departureId}/messages`,
      buildIE013({ lrn: 'AMEND-1' }),
    );
    expect(response.status).toBe(202);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      _links: {
        self: { href: `${departures}/${created.departureId}/messages/${String(body.messageId)}` },
        departure: { href: `${departures}/${created.departureId}` },
      },
      departureId: created.departureId,
      messageId: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  it('answers 404 for someone else’s movement and 400 for a type the endpoint does not take', async () => {
    const created = (await (await post(departures, buildIE015())).json()) as Record<string, string>;
    expect((await post(`${departures}/${created.departureId}/messages`, buildIE015())).status).toBe(
      400,
    );
    token = sandbox.token('GB999999999999');
    const response = await post(`${departures}/${created.departureId}/messages`, buildIE013());
    expect(response.status).toBe(404);
    expect(await error(response)).toEqual({
      code: 'NOT_FOUND',
      message: `Departure movement with ID ${created.departureId} was not found`,
    });
  });

  it('rejects an IE013 naming both LRN and MRN (business rule)', async () => {
    const created = (await (await post(departures, buildIE015())).json()) as Record<string, string>;
    const both = buildIE013({ mrn: '25GB00000000000AJ5' }).replace(
      '<MRN>',
      '<LRN>ABC</LRN>\n    <MRN>',
    );
    const response = await post(`${departures}/${created.departureId}/messages`, both);
    expect(response.status).toBe(400);
    expect((await error(response)).code).toBe('BUSINESS_VALIDATION_ERROR');
  });

  it('takes an IE007 for arrivals', async () => {
    const response = await post(
      '/customs/transits/movements/arrivals',
      buildIE007({ eori: 'GB123456789000' }),
    );
    expect(response.status).toBe(202);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['_links', 'arrivalId', 'messageId', 'boxId']);
  });
});

describe('large-message route', () => {
  async function upload(
    href: string,
    fields: Record<string, string>,
    file: string,
    order: 'file-last' | 'file-first' = 'file-last',
  ) {
    const form = new FormData();
    const blob = new Blob([file], { type: 'application/xml' });
    if (order === 'file-first') form.append('file', blob, 'declaration.xml');
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    if (order === 'file-last') form.append('file', blob, 'declaration.xml');
    return fetch(href, { method: 'POST', body: form });
  }

  it('opens an upload, takes the file and notifies SUCCESS', async () => {
    const response = await post(departures, undefined, { 'content-type': undefined });
    expect(response.status).toBe(202);
    const body = (await response.json()) as {
      departureId: string;
      messageId: string;
      boxId: string;
      uploadRequest: { href: string; fields: Record<string, string> };
    };
    expect(Object.keys(body)).toEqual([
      '_links',
      'departureId',
      'messageId',
      'boxId',
      'uploadRequest',
    ]);
    // On the upload listener, under another host name than the API's (HMRC: Upscan's proxy).
    expect(body.uploadRequest.href).toMatch(new RegExp(`^${sandbox.uploadUrl}/v1/uploads/`));
    expect(new URL(body.uploadRequest.href).hostname).not.toBe(new URL(sandbox.url).hostname);
    // The API host itself takes no uploads.
    expect(
      (
        await fetch(new URL(new URL(body.uploadRequest.href).pathname, sandbox.url), {
          method: 'POST',
        })
      ).status,
    ).toBe(404);
    expect(body.uploadRequest.fields).toMatchObject({
      key: expect.any(String),
      acl: 'private',
      'x-amz-algorithm': 'AWS4-HMAC-SHA256',
    });

    const pending = (await (
      await fetch(`${sandbox.url}${departures}/${body.departureId}/messages`, {
        headers: { authorization: `Bearer ${token}`, accept: ctcJson },
      })
    ).json()) as { messages: Record<string, unknown>[] };
    expect(pending.messages[0]).toMatchObject({ id: body.messageId, status: 'Pending' });
    expect('type' in pending.messages[0]!).toBe(false);

    const declaration = buildMessageOfSize('IE015', 6_000_000, { lrn: 'LARGE-1' });
    expect(
      (await upload(body.uploadRequest.href, body.uploadRequest.fields, declaration)).status,
    ).toBe(204);
    const push = await waitFor(
      () =>
        sandbox.receiver.pushes.find(
          (candidate) => candidate.payload.notificationType === 'SUBMISSION_NOTIFICATION',
        ),
      10_000,
    );
    expect(push.payload).toEqual({
      messageUri: `${departures}/${body.departureId}/messages/${body.messageId}`,
      notificationType: 'SUBMISSION_NOTIFICATION',
      messageId: body.messageId,
      enrollmentEORINumber: 'GB123456789000',
      departureId: body.departureId,
      response: {
        code: 'SUCCESS',
        message: `The message ${body.messageId} for movement ${body.departureId} was successfully processed`,
      },
    });
    const movement = sandbox.controls.movement(body.departureId)!;
    expect(movement.lrn).toBe('LARGE-1');
    expect(movement.messages[0]).toMatchObject({ status: 'Success', messageType: 'IE015' });
    expect(movement.messages[0]!.body!.equals(Buffer.from(declaration))).toBe(true);
    // The slot is single-use.
    expect(
      (await upload(body.uploadRequest.href, body.uploadRequest.fields, declaration)).status,
    ).toBe(404);
  });

  it('notifies SCHEMA_VALIDATION with validationErrors for an invalid file', async () => {
    const body = (await (
      await post(departures, undefined, { 'content-type': undefined })
    ).json()) as {
      departureId: string;
      uploadRequest: { href: string; fields: Record<string, string> };
    };
    const invalid = buildIE015().replace(/<declarationType>T1<\/declarationType>/, '');
    expect((await upload(body.uploadRequest.href, body.uploadRequest.fields, invalid)).status).toBe(
      204,
    );
    const push = await waitFor(() => sandbox.receiver.pushes[0], 10_000);
    expect(push.payload.response).toMatchObject({
      code: 'SCHEMA_VALIDATION',
      message: 'Request failed schema validation',
      validationErrors: expect.any(Array),
    });
    expect(sandbox.controls.movement(body.departureId)!.messages[0]!.status).toBe('Failed');
  });

  it('takes a follow-up message through the large route too', async () => {
    const created = (await (
      await post(departures, buildIE015({ lrn: 'LARGE-FOLLOW' }))
    ).json()) as Record<string, string>;
    const opened = await post(`${departures}/${created.departureId}/messages`, undefined, {
      'content-type': undefined,
    });
    expect(opened.status).toBe(202);
    const body = (await opened.json()) as {
      messageId: string;
      uploadRequest: { href: string; fields: Record<string, string> };
    };
    expect(Object.keys(body)).toEqual(['_links', 'departureId', 'messageId', 'uploadRequest']);
    expect(
      (
        await upload(
          body.uploadRequest.href,
          body.uploadRequest.fields,
          buildIE013({ lrn: 'LARGE-FOLLOW' }),
        )
      ).status,
    ).toBe(204);
    const push = await waitFor(
      () =>
        sandbox.receiver.pushes.find((candidate) => candidate.payload.messageId === body.messageId),
      10_000,
    );
    expect(push.payload.response).toMatchObject({ code: 'SUCCESS' });
    expect(sandbox.controls.movement(created.departureId!)!.messages.at(-1)).toMatchObject({
      messageType: 'IE013',
      status: 'Success',
    });
  });

  it('refuses an upload with the file first or a field altered', async () => {
    const body = (await (
      await post(departures, undefined, { 'content-type': undefined })
    ).json()) as { uploadRequest: { href: string; fields: Record<string, string> } };
    expect(
      (await upload(body.uploadRequest.href, body.uploadRequest.fields, buildIE015(), 'file-first'))
        .status,
    ).toBe(400);
    expect(
      (
        await upload(
          body.uploadRequest.href,
          { ...body.uploadRequest.fields, key: 'other' },
          buildIE015(),
        )
      ).status,
    ).toBe(403);
  });
});
