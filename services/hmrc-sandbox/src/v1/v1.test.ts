import { parseNctsMessage } from '@ctc-hub/ncts';
import {
  buildCC007A,
  buildCC014A,
  buildCC015B,
  buildCC044A,
  buildIE015,
} from '@ctc-hub/ncts-testkit';
import { parseCtcPayload, verifySignature } from '@ctc-hub/ppns';
import {
  ctcJson,
  startTestSandbox,
  waitFor,
  type ReceivedPush,
  type TestSandbox,
} from '../test-helpers.js';

// CTC Traders API 1.0 (phase 4) as a v1 client saw it: integer ids per movement type, the 202
// bodies with _embedded.notifications, Play-style errors, the reads, the box endpoint, and the
// phase-4 NCTS answers pushed with the v1 notification payload.

const v1 = 'application/vnd.hmrc.1.0+json';
const secret = 'SANDBOXPUSHSECRETDEVONLY00000000';
const boxId = '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e';
const boxName = 'customs/transits##1.0##notificationUrl';
const movements = '/customs/transits/movements';

let sandbox: TestSandbox;
let token: string;
beforeAll(async () => {
  sandbox = await startTestSandbox({ SANDBOX_NCTS_STEP_MS: '5' });
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.reset();
  sandbox.controls.configure({ boxConfigured: true, lifecycleEnabled: true });
  sandbox.receiver.pushes.length = 0;
  token = sandbox.token('GB123456789000');
});

function call(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string | undefined> = {},
): Promise<Response> {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    authorization: `Bearer ${token}`,
    accept: v1,
    ...(body === undefined ? {} : { 'content-type': 'application/xml' }),
    ...headers,
  })) {
    if (value !== undefined) merged[name] = value;
  }
  return fetch(`${sandbox.url}${path}`, { method, headers: merged, body });
}

const json = async (response: Response) => (await response.json()) as Record<string, any>;

async function submit(
  method: 'POST' | 'PUT',
  path: string,
  xml: string,
  headers: Record<string, string> = {},
): Promise<Record<string, any>> {
  const response = await call(method, `${movements}/${path}`, xml, headers);
  expect(response.status).toBe(202);
  return json(response);
}

/** The v1 movement as the sandbox holds it (v1 ids are only unique per movement type). */
const heldMovement = (type: 'departure' | 'arrival', id: string) =>
  sandbox.controls
    .movements()
    .find(
      (movement) => movement.apiVersion === '1.0' && movement.type === type && movement.id === id,
    );

/** Pushes of a v1 movement, in the order NCTS sent them. */
function pushesFor(type: 'departure' | 'arrival', id: string): ReceivedPush[] {
  const key = type === 'departure' ? 'departureId' : 'arrivalId';
  return sandbox.receiver.pushes
    .filter((push) => push.payload[key] === id)
    .sort((a, b) => Number(a.payload.messageId) - Number(b.payload.messageId));
}
const typesFor = (type: 'departure' | 'arrival', id: string) =>
  pushesFor(type, id).map((push) => push.payload.messageType);

describe('v1 submissions', () => {
  it('answers a CC015B with 202, Location and the v1 body with _embedded.notifications', async () => {
    const xml = buildCC015B({ lrn: 'V1-LRN-1', eori: 'GB123456789000' });
    const response = await call('POST', `${movements}/departures`, xml, {
      'x-sandbox-outcome': 'none',
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`${movements}/departures/1`);
    const body = await json(response);
    expect(Object.keys(body)).toEqual([
      '_links',
      'departureId',
      'messageType',
      'body',
      '_embedded',
    ]);
    expect(body).toEqual({
      _links: { self: { href: `${movements}/departures/1` } },
      departureId: '1',
      messageType: 'IE015',
      body: xml,
      _embedded: {
        notifications: { requestId: `${movements}/departures/1`, boxId, boxName },
      },
    });
    expect(Object.keys(body._embedded.notifications)).toEqual(['requestId', 'boxId', 'boxName']);
  });

  it('numbers departures and arrivals separately, and apart from v2 hex ids', async () => {
    const outcome = { 'x-sandbox-outcome': 'none' };
    expect((await submit('POST', 'departures', buildCC015B(), outcome)).departureId).toBe('1');
    expect((await submit('POST', 'departures', buildCC015B(), outcome)).departureId).toBe('2');
    expect((await submit('POST', 'arrivals', buildCC007A(), outcome)).arrivalId).toBe('1');
    const v2 = await call('POST', `${movements}/departures`, buildIE015(), {
      accept: ctcJson,
      'x-sandbox-outcome': 'none',
    });
    expect(v2.status).toBe(202);
    expect((await json(v2)).departureId).toMatch(/^[0-9a-f]{16}$/);
    // Neither API version lists the other's movements.
    const v1List = await json(await call('GET', `${movements}/departures`));
    expect(v1List._embedded.departures.map((item: any) => item.id).sort()).toEqual(['1', '2']);
    const v2List = await json(
      await call('GET', `${movements}/departures`, undefined, { accept: ctcJson }),
    );
    expect(v2List.totalCount).toBe(1);
  });

  it('omits _embedded when the application has no box, and then pushes nothing', async () => {
    sandbox.controls.configure({ boxConfigured: false });
    const body = await submit('POST', 'departures', buildCC015B());
    expect('_embedded' in body).toBe(false);
    await sandbox.controls.settle();
    expect(heldMovement('departure', body.departureId)!.messages).toHaveLength(3);
    expect(sandbox.receiver.pushes).toHaveLength(0);
  });

  it('answers a follow-up with its message id, Location and _embedded.notifications.requestId', async () => {
    const { departureId } = await submit('POST', 'departures', buildCC015B(), {
      'x-sandbox-outcome': 'none',
    });
    const xml = buildCC014A({ mrn: '21GB00000000000017' });
    const response = await call('POST', `${movements}/departures/${departureId}/messages`, xml, {
      'x-sandbox-outcome': 'none',
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`${movements}/departures/1/messages/2`);
    expect(await json(response)).toEqual({
      _links: {
        self: { href: `${movements}/departures/1/messages/2` },
        departure: { href: `${movements}/departures/1` },
      },
      departureId: '1',
      messageId: '2',
      messageType: 'IE014',
      body: xml,
      _embedded: { notifications: { requestId: `${movements}/departures/1` } },
    });
  });

  it('accepts text/xml and application/xml; charset=UTF-8 like Play’s XML parser', async () => {
    for (const contentType of ['text/xml', 'application/xml; charset=UTF-8']) {
      const response = await call('POST', `${movements}/arrivals`, buildCC007A(), {
        'content-type': contentType,
        'x-sandbox-outcome': 'none',
      });
      expect(response.status).toBe(202);
    }
  });
});

describe('v1 errors', () => {
  const error = async (response: Response, status: number) => {
    expect(response.status).toBe(status);
    return json(response);
  };

  it('answers 406 in the v1 shape to a 1.0 Accept other than +json', async () => {
    const response = await call('POST', `${movements}/departures`, buildCC015B(), {
      accept: 'application/vnd.hmrc.1.0+xml',
    });
    expect(await error(response, 406)).toEqual({
      statusCode: 406,
      message: 'The accept header is missing or invalid',
    });
    const read = await call('GET', `${movements}/arrivals`, undefined, {
      accept: 'application/vnd.hmrc.1.0+json-xml',
    });
    expect((await error(read, 406)).statusCode).toBe(406);
  });

  it('answers 415 to a body that is not XML', async () => {
    const response = await call('POST', `${movements}/departures`, buildCC015B(), {
      'content-type': 'application/json',
    });
    expect(await error(response, 415)).toEqual({ statusCode: 415, message: 'Expecting xml body' });
    const none = await call('POST', `${movements}/departures`, buildCC015B(), {
      'content-type': undefined,
    });
    expect(none.status).toBe(415);
  });

  it('answers 400 "Invalid XML: …" to a document that is not well-formed', async () => {
    const response = await call('POST', `${movements}/departures`, '<CC015B><HEAHEA></CC015B>');
    const body = await error(response, 400);
    expect(Object.keys(body)).toEqual(['statusCode', 'message']);
    expect(body.message).toMatch(/^Invalid XML: /);
  });

  it.each([
    [
      'departures',
      buildIE015(),
      /must be CC015B without a namespace, not CC015C in http:\/\/ncts\.dgtaxud\.ec/,
    ],
    ['departures', buildCC007A(), /must be CC015B without a namespace, not CC007A$/],
    ['arrivals', buildCC015B(), /must be CC007A/],
  ])('answers 400 to the wrong root on POST %s', async (collection, xml, message) => {
    const body = await error(await call('POST', `${movements}/${collection}`, xml), 400);
    expect(body.message).toMatch(message);
  });

  it('answers 400 to an arrival notification without an MRN', async () => {
    const xml = buildCC007A().replace(/<DocNumHEA5>[^<]*<\/DocNumHEA5>/, '');
    const body = await error(await call('POST', `${movements}/arrivals`, xml), 400);
    expect(body.message).toBe('The arrival notification has no MRN (HEAHEA/DocNumHEA5)');
  });

  it('answers 413 above 4,900,000 bytes', async () => {
    const xml = buildCC015B().replace('</CC015B>', `<!--${'x'.repeat(4_900_000)}--></CC015B>`);
    const body = await error(await call('POST', `${movements}/departures`, xml), 413);
    expect(body).toEqual({ statusCode: 413, message: 'Request Entity Too Large' });
  });

  it('answers 400 to an id that is not an integer and 404 (CLIENT_ERROR) to an unknown one', async () => {
    const bad = await error(await call('GET', `${movements}/departures/0123456789abcdef`), 400);
    expect(bad.message).toBe(
      'Cannot parse parameter departureId as Int: For input string: "0123456789abcdef"',
    );
    const missing = await error(await call('GET', `${movements}/arrivals/7`), 404);
    expect(missing).toEqual({
      statusCode: 404,
      message: 'Arrival with ID 7 was not found',
      code: 'CLIENT_ERROR',
    });
    const put = await call('PUT', `${movements}/arrivals/7`, buildCC007A());
    expect(put.status).toBe(404);
  });

  it('keeps movements per trader: another EORI gets 404', async () => {
    const { arrivalId } = await submit('POST', 'arrivals', buildCC007A(), {
      'x-sandbox-outcome': 'none',
    });
    token = sandbox.token('GB000000000001');
    expect((await call('GET', `${movements}/arrivals/${arrivalId}`)).status).toBe(404);
  });

  it('leaves authentication to the API Platform (401 with its code)', async () => {
    const response = await call('POST', `${movements}/departures`, buildCC015B(), {
      authorization: undefined,
    });
    expect(await error(response, 401)).toMatchObject({ code: 'MISSING_CREDENTIALS' });
  });

  it('has no PUT for departures and no /body endpoint: 404 MATCHING_RESOURCE_NOT_FOUND', async () => {
    const { departureId } = await submit('POST', 'departures', buildCC015B(), {
      'x-sandbox-outcome': 'none',
    });
    const put = await call('PUT', `${movements}/departures/${departureId}`, buildCC015B());
    expect((await error(put, 404)).code).toBe('MATCHING_RESOURCE_NOT_FOUND');
    const bodyPath = await call('GET', `${movements}/departures/${departureId}/messages/1/body`);
    expect((await error(bodyPath, 404)).code).toBe('MATCHING_RESOURCE_NOT_FOUND');
  });
});

describe('v1 reads', () => {
  it('lists, gets a movement, its messages (oldest first, with bodies) and one message', async () => {
    const xml = buildCC015B({ lrn: 'READS-1' });
    const { departureId } = await submit('POST', 'departures', xml);
    await waitFor(() => typesFor('departure', departureId).length === 2);
    await sandbox.controls.settle();
    const held = heldMovement('departure', departureId)!;
    const zoneless = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/;

    const list = await json(await call('GET', `${movements}/departures`));
    expect(list).toEqual({
      _links: { self: { href: `${movements}/departures` } },
      _embedded: {
        departures: [
          {
            id: '1',
            created: expect.stringMatching(zoneless),
            updated: expect.stringMatching(zoneless),
            movementReferenceNumber: held.mrn,
            _links: {
              self: { href: `${movements}/departures/1` },
              messages: { href: `${movements}/departures/1/messages` },
            },
          },
        ],
        retrievedDepartures: 1,
        totalDepartures: 1,
      },
    });
    expect(await json(await call('GET', `${movements}/departures/1`))).toEqual(
      list._embedded.departures[0],
    );

    const messages = await json(await call('GET', `${movements}/departures/1/messages`));
    expect(messages._links).toEqual({ self: { href: `${movements}/departures/1/messages` } });
    expect(messages._embedded.departure).toEqual(list._embedded.departures[0]);
    expect(messages._embedded.messages.map((message: any) => message.messageType)).toEqual([
      'IE015',
      'IE028',
      'IE029',
    ]);
    const first = messages._embedded.messages[0];
    expect(first).toEqual({
      _links: {
        self: { href: `${movements}/departures/1/messages/1` },
        departure: { href: `${movements}/departures/1` },
      },
      departureId: '1',
      messageId: '1',
      received: expect.stringMatching(zoneless),
      messageType: 'IE015',
      body: xml,
    });
    const third = await json(await call('GET', `${movements}/departures/1/messages/3`));
    expect(third).toEqual(messages._embedded.messages[2]);
    expect(third.body).toMatch(/^<CC029B>/);
    expect((await call('GET', `${movements}/departures/1/messages/9`)).status).toBe(404);
  });

  it('filters by updatedSince and receivedSince', async () => {
    const { arrivalId } = await submit('POST', 'arrivals', buildCC007A(), {
      'x-sandbox-outcome': 'none',
    });
    const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    const none = await json(await call('GET', `${movements}/arrivals?updatedSince=${future}`));
    expect(none._embedded.arrivals).toEqual([]);
    const messages = await json(
      await call('GET', `${movements}/arrivals/${arrivalId}/messages?receivedSince=${future}`),
    );
    expect(messages._embedded.messages).toEqual([]);
    const bad = await call('GET', `${movements}/arrivals?updatedSince=yesterday`);
    expect(bad.status).toBe(400);
    expect((await json(bad)).statusCode).toBe(400);
  });
});

describe('v1 box endpoint', () => {
  const box = '/customs/transits/movements/push-pull-notifications/box';

  it('answers an application token with the CTC scope with the box', async () => {
    const appToken = sandbox.controls.issueToken({
      kind: 'application',
      scopes: ['common-transit-convention-traders'],
    }).access_token;
    const response = await call('GET', box, undefined, { authorization: `Bearer ${appToken}` });
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({
      boxId,
      boxName,
      _links: { self: { href: box } },
    });
  });

  it('grants that scope through client credentials', async () => {
    const { clientId, clientSecret } = sandbox.controls.settings();
    const granted = await fetch(`${sandbox.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        scope: 'common-transit-convention-traders',
      }),
    });
    expect(granted.status).toBe(200);
    const { access_token: appToken } = (await granted.json()) as { access_token: string };
    const response = await call('GET', box, undefined, { authorization: `Bearer ${appToken}` });
    expect(response.status).toBe(200);
  });

  it('refuses a user token and a PPNS-only application token (401)', async () => {
    expect((await call('GET', box)).status).toBe(401);
    const ppnsOnly = sandbox.controls.issueToken({ kind: 'application' }).access_token;
    const response = await call('GET', box, undefined, { authorization: `Bearer ${ppnsOnly}` });
    expect((await json(response)).code).toBe('INVALID_SCOPE');
  });

  it('answers 404 "No box found for your client id" without a box', async () => {
    sandbox.controls.configure({ boxConfigured: false });
    const appToken = sandbox.controls.issueToken({
      kind: 'application',
      scopes: ['common-transit-convention-traders'],
    }).access_token;
    const response = await call('GET', box, undefined, { authorization: `Bearer ${appToken}` });
    expect(response.status).toBe(404);
    expect(await json(response)).toEqual({
      statusCode: 404,
      message: 'No box found for your client id',
      code: 'CLIENT_ERROR',
    });
  });

  it('does not exist in v2.x', async () => {
    const response = await call('GET', box, undefined, { accept: ctcJson });
    expect(response.status).toBe(404);
    expect((await json(response)).code).toBe('MATCHING_RESOURCE_NOT_FOUND');
  });
});

describe('v1 NCTS simulation and pushes', () => {
  it('answers a CC015B with CC028A then CC029B, pushed signed with the v1 payload', async () => {
    const { departureId } = await submit(
      'POST',
      'departures',
      buildCC015B({ lrn: 'V1-FLOW-1', eori: 'GB123456789000', messageIdentification: '77' }),
    );
    await waitFor(() => typesFor('departure', departureId).length === 2);
    await sandbox.controls.settle();
    expect(typesFor('departure', departureId)).toEqual(['IE028', 'IE029']);
    const held = heldMovement('departure', departureId)!;
    expect(held.mrn).toMatch(/^\d{2}GB[A-Z0-9]{13}\d$/);

    const [ie028, ie029] = pushesFor('departure', departureId);
    for (const push of [ie028!, ie029!]) {
      expect(verifySignature([secret], push.raw, String(push.headers['x-hub-signature']))).toBe(
        true,
      );
      expect(push.envelope.boxId).toBe(boxId);
      const parsed = parseCtcPayload(String(push.envelope.message));
      if (!parsed.ok) throw new Error(parsed.error.message);
      expect(parsed.payload).toMatchObject({
        version: 'v1',
        movementType: 'departure',
        movementId: departureId,
        requestId: `${movements}/departures/${departureId}`,
        eori: 'GB123456789000',
      });
    }
    expect(Object.keys(ie028!.payload)).toEqual([
      'messageUri',
      'requestId',
      'customerId',
      'departureId',
      'messageId',
      'received',
      'messageType',
      'messageBody',
    ]);
    expect(ie028!.payload).toMatchObject({
      messageUri: `${movements}/departures/1/messages/2`,
      departureId: '1',
      messageId: '2',
      received: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/),
      messageType: 'IE028',
    });
    const summary = parseNctsMessage(String(ie028!.payload.messageBody));
    if (!summary.ok) throw new Error(summary.error.message);
    expect(summary.summary).toMatchObject({
      rootElement: 'CC028A',
      lrn: 'V1-FLOW-1',
      mrn: held.mrn,
      header: { correlationIdentifier: '77' },
    });
    expect(String(ie029!.payload.messageBody)).toMatch(/^<CC029B>/);
  });

  it('rejects a CC015B whose LRN starts with REJ with CC016A', async () => {
    const { departureId } = await submit('POST', 'departures', buildCC015B({ lrn: 'REJ-V1-1' }));
    await waitFor(() => typesFor('departure', departureId).length === 1);
    await sandbox.controls.settle();
    expect(typesFor('departure', departureId)).toEqual(['IE016']);
  });

  it('answers CC014A with CC009A: accepted before release, refused after', async () => {
    const { departureId: open } = await submit('POST', 'departures', buildCC015B(), {
      'x-sandbox-outcome': 'none',
    });
    await submit('POST', `departures/${open}/messages`, buildCC014A());
    const { departureId: released } = await submit('POST', 'departures', buildCC015B());
    await waitFor(() => typesFor('departure', released).length === 2);
    await submit('POST', `departures/${released}/messages`, buildCC014A());
    await waitFor(
      () =>
        typesFor('departure', open).length === 1 && typesFor('departure', released).length === 3,
    );
    await sandbox.controls.settle();
    const decision = (id: string) => {
      const push = pushesFor('departure', id).find((item) => item.payload.messageType === 'IE009');
      const parsed = parseNctsMessage(String(push!.payload.messageBody));
      return parsed.ok ? parsed.summary.invalidationDecision : undefined;
    };
    expect(decision(open)).toBe(true);
    expect(decision(released)).toBe(false);
  });

  it('rejects a marked arrival with CC008A, then accepts the PUT resubmission and goes on', async () => {
    const rejectedMrn = '21GBREJ00000000017';
    const { arrivalId, _embedded } = await submit(
      'POST',
      'arrivals',
      buildCC007A({ mrn: rejectedMrn, eori: 'GB123456789000' }),
    );
    expect(_embedded.notifications).toEqual({
      requestId: `${movements}/arrivals/${arrivalId}`,
      boxId,
      boxName,
    });
    await waitFor(() => typesFor('arrival', arrivalId).length === 1);
    expect(typesFor('arrival', arrivalId)).toEqual(['IE008']);
    const rejection = parseNctsMessage(
      String(pushesFor('arrival', arrivalId)[0]!.payload.messageBody),
    );
    expect(rejection.ok && rejection.summary.rejection?.businessRejectionType).toBe('007');

    const correctedMrn = '21GB0000000000001X';
    const resubmission = buildCC007A({ mrn: correctedMrn, eori: 'GB123456789000' });
    const put = await call('PUT', `${movements}/arrivals/${arrivalId}`, resubmission);
    expect(put.status).toBe(202);
    expect(put.headers.get('location')).toBe(`${movements}/arrivals/${arrivalId}`);
    expect(await json(put)).toEqual({
      _links: { self: { href: `${movements}/arrivals/${arrivalId}` } },
      arrivalId,
      messageType: 'IE007',
      body: resubmission,
      _embedded: {
        notifications: { requestId: `${movements}/arrivals/${arrivalId}`, boxId, boxName },
      },
    });
    await waitFor(() => typesFor('arrival', arrivalId).length === 2);
    expect(typesFor('arrival', arrivalId)).toEqual(['IE008', 'IE043']);
    expect(heldMovement('arrival', arrivalId)!.mrn).toBe(correctedMrn);

    await submit('POST', `arrivals/${arrivalId}/messages`, buildCC044A({ mrn: correctedMrn }));
    await waitFor(() => typesFor('arrival', arrivalId).length === 3);
    await sandbox.controls.settle();
    expect(typesFor('arrival', arrivalId)).toEqual(['IE008', 'IE043', 'IE025']);
    const pushed = pushesFor('arrival', arrivalId).map((push) => {
      const parsed = parseCtcPayload(String(push.envelope.message));
      if (!parsed.ok) throw new Error(parsed.error.message);
      return parsed.payload;
    });
    expect(pushed.map((payload) => [payload.version, payload.messageId])).toEqual([
      ['v1', '2'],
      ['v1', '4'],
      ['v1', '6'],
    ]);
    const list = await json(await call('GET', `${movements}/arrivals/${arrivalId}/messages`));
    expect(list._embedded.messages.map((message: any) => message.messageType)).toEqual([
      'IE007',
      'IE008',
      'IE007',
      'IE043',
      'IE044',
      'IE025',
    ]);
  });

  it('rejects unloading remarks of an MRN marked RJU with CC058A', async () => {
    const mrn = '21GBRJU00000000017';
    const { arrivalId } = await submit('POST', 'arrivals', buildCC007A({ mrn }));
    await waitFor(() => typesFor('arrival', arrivalId).length === 1);
    await submit('POST', `arrivals/${arrivalId}/messages`, buildCC044A({ mrn }));
    await waitFor(() => typesFor('arrival', arrivalId).length === 2);
    expect(typesFor('arrival', arrivalId)).toEqual(['IE043', 'IE058']);
  });

  it('leaves out messageBody from 80,000 bytes on: the client fetches by messageUri', async () => {
    const { departureId } = await submit(
      'POST',
      'departures',
      buildCC015B({ goodsItemCount: 400 }),
    );
    await waitFor(() => typesFor('departure', departureId).length === 2);
    await sandbox.controls.settle();
    const [ie028, ie029] = pushesFor('departure', departureId);
    expect(ie028!.payload.messageBody).toBeDefined();
    const stored = heldMovement('departure', departureId)!.messages[2]!;
    expect(stored.body!.length).toBeGreaterThanOrEqual(80_000);
    expect('messageBody' in ie029!.payload).toBe(false);
    const fetched = await json(await call('GET', String(ie029!.payload.messageUri)));
    expect(Buffer.from(String(fetched.body))).toEqual(stored.body);
  });
});
