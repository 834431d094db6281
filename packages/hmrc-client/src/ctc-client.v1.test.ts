import { Agent } from 'undici';
import { CtcClient, type CtcApiVersion } from './ctc-client.js';
import {
  sendJson,
  startLocalServer,
  type Handler,
  type LocalServer,
} from './test-support/local-server.js';

// CTC Traders API 1.0 on the wire: what we send (method, path, Accept, Content-Type, query) and
// how v1's answers are read: _embedded.notifications, integer ids, the box endpoint, the
// parameters v1 never had (refused unsent).

const token = 'user-access-token';
const appToken = 'application-access-token';
const base = '/customs/transits/movements';
const dispatcher = new Agent({ keepAliveTimeout: 10 });
let server: LocalServer;
let respond: Handler;

beforeEach(async () => {
  respond = (_request, response) => sendJson(response, 200, {});
  server = await startLocalServer((request, response, raw) => respond(request, response, raw));
});
afterEach(() => server.close());
afterAll(() => dispatcher.close());

const client = (apiVersion: CtcApiVersion = '1.0') =>
  new CtcClient({ baseUrl: server.url, apiVersion, timeoutMs: 5000, dispatcher });

const only = () => {
  expect(server.requests).toHaveLength(1);
  return server.requests[0]!;
};

describe('submitMessage (1.0)', () => {
  it('POSTs the XML with Accept 1.0+json and reads _embedded.notifications', async () => {
    respond = (_request, response) =>
      sendJson(
        response,
        202,
        {
          _links: { self: { href: `${base}/departures/12` } },
          departureId: '12',
          messageType: 'IE015',
          body: '<CC015B/>',
          _embedded: {
            notifications: {
              requestId: `${base}/departures/12`,
              boxId: '5fb4b568-b5ff-4475-bd29-0a3e70abb6d6',
              boxName: 'customs/transits##1.0##notificationUrl',
            },
          },
        },
        { location: `${base}/departures/12` },
      );
    const result = await client().submitMessage({ type: 'departure', xml: '<CC015B/>', token });
    expect(result).toEqual({
      ok: true,
      accepted: {
        movementType: 'departure',
        movementId: '12',
        boxId: '5fb4b568-b5ff-4475-bd29-0a3e70abb6d6',
        requestId: `${base}/departures/12`,
        boxName: 'customs/transits##1.0##notificationUrl',
      },
    });
    const request = only();
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`${base}/departures`);
    expect(request.headers.accept).toBe('application/vnd.hmrc.1.0+json');
    expect(request.headers['content-type']).toBe('application/xml');
    expect(request.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('reads a follow-up: integer messageId and the requestId alone', async () => {
    respond = (_request, response) =>
      sendJson(response, 202, {
        arrivalId: 3,
        messageId: 2,
        messageType: 'IE044',
        _embedded: { notifications: { requestId: `${base}/arrivals/3` } },
      });
    const result = await client().submitMessage({
      type: 'arrival',
      movementId: '3',
      xml: '<CC044A/>',
      token,
    });
    expect(result).toEqual({
      ok: true,
      accepted: {
        movementType: 'arrival',
        movementId: '3',
        messageId: '2',
        requestId: `${base}/arrivals/3`,
      },
    });
    expect(only().url).toBe(`${base}/arrivals/3/messages`);
  });

  it('takes the ids from Location when an early v1 answered 202 with no body', async () => {
    respond = (_request, response) => {
      response.writeHead(202, { location: `${base}/departures/5/messages/2` });
      response.end();
    };
    const result = await client().submitMessage({
      type: 'departure',
      movementId: '5',
      xml: '<CC014A/>',
      token,
    });
    expect(result).toEqual({
      ok: true,
      accepted: { movementType: 'departure', movementId: '5', messageId: '2' },
    });
  });

  it('an empty 202 without a usable Location is an invalid response', async () => {
    respond = (_request, response) => {
      response.writeHead(202, { location: `${base}/arrivals/5` });
      response.end();
    };
    const result = await client().submitMessage({ type: 'departure', xml: '<CC015B/>', token });
    expect(result).toMatchObject({ ok: false, error: { kind: 'invalid-response', status: 202 } });
  });

  it('refuses, unsent, a body over 4.9 MB (v1 had no large-message route)', async () => {
    const result = await client().submitMessage({
      type: 'departure',
      xml: Buffer.alloc(4_900_001, 0x20),
      token,
    });
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'too-large', sent: false, limit: 4_900_000 },
    });
    const large = await client().initiateLargeMessage({ type: 'departure', token });
    expect(large).toMatchObject({ ok: false, error: { kind: 'refused' } });
    expect(server.connections).toBe(0);
  });

  it('reads v1 errors ({statusCode, message}) as client errors', async () => {
    respond = (_request, response) =>
      sendJson(response, 400, { statusCode: 400, message: 'Invalid XML: Premature end of file.' });
    const result = await client().submitMessage({ type: 'departure', xml: '<CC015B>', token });
    expect(result).toEqual({
      ok: false,
      error: { kind: 'client-error', status: 400, message: 'Invalid XML: Premature end of file.' },
    });
  });
});

describe('resubmitArrival', () => {
  it('PUTs the corrected CC007A to the arrival and reads the 202', async () => {
    respond = (_request, response) =>
      sendJson(response, 202, {
        _links: { self: { href: `${base}/arrivals/7` } },
        arrivalId: '7',
        messageType: 'IE007',
        body: '<CC007A/>',
        _embedded: {
          notifications: {
            requestId: `${base}/arrivals/7`,
            boxId: '5fb4b568-b5ff-4475-bd29-0a3e70abb6d6',
            boxName: 'customs/transits##1.0##notificationUrl',
          },
        },
      });
    const result = await client().resubmitArrival({ arrivalId: '7', xml: '<CC007A/>', token });
    expect(result).toEqual({
      ok: true,
      accepted: {
        movementType: 'arrival',
        movementId: '7',
        boxId: '5fb4b568-b5ff-4475-bd29-0a3e70abb6d6',
        requestId: `${base}/arrivals/7`,
        boxName: 'customs/transits##1.0##notificationUrl',
      },
    });
    const request = only();
    expect(request.method).toBe('PUT');
    expect(request.url).toBe(`${base}/arrivals/7`);
    expect(request.headers.accept).toBe('application/vnd.hmrc.1.0+json');
    expect(request.headers['content-type']).toBe('application/xml');
    expect(request.body.toString()).toBe('<CC007A/>');
  });

  it.each([
    ['2.1', '7', /only in CTC API 1.0/],
    ['1.0', '0123456789abcdef', /integer/],
    ['1.0', '../7', /integer/],
  ] as const)('is refused unsent on %s for arrival %s', async (version, arrivalId, message) => {
    const result = await client(version).resubmitArrival({ arrivalId, xml: '<CC007A/>', token });
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'refused', message: expect.stringMatching(message) },
    });
    expect(server.connections).toBe(0);
  });
});

describe('getBox', () => {
  it('GETs the v1 box endpoint with the application token and Accept 1.0+json', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, {
        boxId: '5fb4b568-b5ff-4475-bd29-0a3e70abb6d6',
        boxName: 'customs/transits##1.0##notificationUrl',
        _links: { self: { href: `${base}/push-pull-notifications/box` } },
      });
    // Whatever version the client is configured for: the endpoint only existed in 1.0.
    const result = await client('2.1').getBox(appToken);
    expect(result).toEqual({
      ok: true,
      box: {
        boxId: '5fb4b568-b5ff-4475-bd29-0a3e70abb6d6',
        boxName: 'customs/transits##1.0##notificationUrl',
      },
    });
    const request = only();
    expect(request.method).toBe('GET');
    expect(request.url).toBe(`${base}/push-pull-notifications/box`);
    expect(request.headers.accept).toBe('application/vnd.hmrc.1.0+json');
    expect(request.headers.authorization).toBe(`Bearer ${appToken}`);
  });

  it('fails closed on a box without a usable boxId, and reports 404 as a client error', async () => {
    respond = (_request, response) => sendJson(response, 200, { boxId: '../x', boxName: 'b' });
    expect(await client().getBox(appToken)).toMatchObject({
      ok: false,
      error: { kind: 'invalid-response' },
    });
    respond = (_request, response) =>
      sendJson(response, 404, {
        statusCode: 404,
        message: 'No box found for your client id',
        code: 'CLIENT_ERROR',
      });
    expect(await client().getBox(appToken)).toEqual({
      ok: false,
      error: {
        kind: 'client-error',
        status: 404,
        code: 'CLIENT_ERROR',
        message: 'No box found for your client id',
      },
    });
  });
});

describe('v1 reads', () => {
  it('listMovements sends only updatedSince and reads _embedded with totalDepartures', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, {
        _links: { self: { href: `${base}/departures` } },
        _embedded: {
          departures: [
            {
              id: '12',
              created: '2021-03-01T10:15:30.123',
              updated: '2021-03-01T10:16:30.123',
              movementReferenceNumber: '21GB00000000000017',
              _links: {},
            },
          ],
          retrievedDepartures: 1,
          totalDepartures: 1,
        },
      });
    const result = await client().listMovements({
      type: 'departure',
      token,
      updatedSince: new Date('2021-03-01T00:00:00Z'),
      page: 1,
    });
    expect(result).toEqual({
      ok: true,
      list: {
        totalCount: 1,
        movements: [
          {
            id: '12',
            created: '2021-03-01T10:15:30.123',
            updated: '2021-03-01T10:16:30.123',
            movementReferenceNumber: '21GB00000000000017',
          },
        ],
      },
    });
    expect(only().url).toBe(`${base}/departures?updatedSince=2021-03-01T00%3A00%3A00.000Z`);
  });

  it.each([
    [{ count: 25 }, 'count'],
    [{ page: 2 }, 'page'],
    [{ localReferenceNumber: 'LRN1', movementEORI: 'GB1' }, 'localReferenceNumber, movementEORI'],
  ])('listMovements refuses, unsent, what v1 did not have: %j', async (extra, names) => {
    const result = await client().listMovements({ type: 'arrival', token, ...extra });
    expect(result).toEqual({
      ok: false,
      error: {
        kind: 'refused',
        message: `CTC API 1.0 list endpoints do not support ${names}`,
      },
    });
    expect(server.connections).toBe(0);
  });

  it('listMessages reads _embedded.messages (messageId, messageType) and drops bodies', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, {
        _links: { self: { href: `${base}/arrivals/3/messages` } },
        _embedded: {
          messages: [
            {
              arrivalId: '3',
              messageId: '1',
              received: '2021-03-01T10:15:30.123',
              messageType: 'IE007',
              body: '<CC007A/>',
            },
            {
              arrivalId: '3',
              messageId: '2',
              received: '2021-03-01T10:16:30.123',
              messageType: 'IE043',
              body: '<CC043A/>',
            },
          ],
          arrival: { id: '3' },
        },
      });
    const result = await client().listMessages(
      'arrival',
      '3',
      { receivedSince: '2021-03-01T10:00:00Z' },
      token,
    );
    expect(result).toEqual({
      ok: true,
      list: {
        totalCount: 2,
        messages: [
          { id: '1', received: '2021-03-01T10:15:30.123', type: 'IE007' },
          { id: '2', received: '2021-03-01T10:16:30.123', type: 'IE043' },
        ],
      },
    });
    expect(only().url).toBe(`${base}/arrivals/3/messages?receivedSince=2021-03-01T10%3A00%3A00Z`);
    const refused = await client().listMessages('arrival', '3', { count: 10 }, token);
    expect(refused).toMatchObject({ ok: false, error: { kind: 'refused' } });
  });

  it('getMessage asks for 1.0+json and returns the XML body', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, {
        arrivalId: '3',
        messageId: '2',
        received: '2021-03-01T10:16:30.123',
        messageType: 'IE043',
        body: '<CC043A/>',
      });
    const result = await client().getMessage({
      messageUri: `${base}/arrivals/3/messages/2`,
      token,
    });
    expect(result).toEqual({
      ok: true,
      message: {
        id: '2',
        received: '2021-03-01T10:16:30.123',
        type: 'IE043',
        body: '<CC043A/>',
      },
    });
    expect(only().headers.accept).toBe('application/vnd.hmrc.1.0+json');
  });
});
