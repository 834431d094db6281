import { Agent } from 'undici';
import { CtcClient, type CtcApiVersion } from './ctc-client.js';
import {
  sendJson,
  startLocalServer,
  type Handler,
  type LocalServer,
} from './test-support/local-server.js';

// What HMRC sees from us, byte for byte: paths, Accept and Content-Type per endpoint (HMRC answers
// 406/415 to anything else), query encoding, bodies; and how its answers are read back.

const departureId = '0123456789abcdef';
const messageId = 'fedcba9876543210';
const messageUri = `/customs/transits/movements/departures/${departureId}/messages/${messageId}`;
const token = 'user-access-token';
const dispatcher = new Agent({ keepAliveTimeout: 10 });
let server: LocalServer;
let respond: Handler;

beforeEach(async () => {
  respond = (_request, response) => sendJson(response, 200, {});
  server = await startLocalServer((request, response, raw) => respond(request, response, raw));
});
afterEach(async () => {
  await server.close();
});
afterAll(async () => {
  await dispatcher.close();
});

const client = (apiVersion: CtcApiVersion = '2.1', baseUrl = server.url) =>
  new CtcClient({ baseUrl, apiVersion, timeoutMs: 5000, dispatcher });

const only = () => {
  expect(server.requests).toHaveLength(1);
  return server.requests[0]!;
};

describe('fetchMessageBody', () => {
  it.each(['2.1', '3.0'] as const)(
    'v%s: GET {messageUri}/body with Accept …+xml, bytes unchanged',
    async (version) => {
      const xml = Buffer.from(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ncts:CC029C PhaseID="NCTS5.1">é</ncts:CC029C>',
      );
      respond = (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/xml' });
        response.end(xml);
      };
      const result = await client(version).fetchMessageBody({ messageUri, token, maxBytes: 1000 });
      expect(result).toEqual({ ok: true, body: xml });
      const request = only();
      expect(request.method).toBe('GET');
      expect(request.url).toBe(`${messageUri}/body`);
      expect(request.headers.accept).toBe(`application/vnd.hmrc.${version}+xml`);
      expect(request.headers.authorization).toBe(`Bearer ${token}`);
    },
  );

  it('v1.0: no /body endpoint, takes the body field of the message (Accept 1.0+json)', async () => {
    const v1Uri = '/customs/transits/movements/arrivals/12/messages/3';
    respond = (_request, response) =>
      sendJson(response, 200, {
        arrivalId: '12',
        messageId: '3',
        messageType: 'IE025',
        body: '<CC025A>é</CC025A>',
      });
    const result = await client('1.0').fetchMessageBody({
      messageUri: v1Uri,
      token,
      maxBytes: 1000,
    });
    expect(result).toEqual({ ok: true, body: Buffer.from('<CC025A>é</CC025A>') });
    const request = only();
    expect(request.url).toBe(v1Uri);
    expect(request.headers.accept).toBe('application/vnd.hmrc.1.0+json');
  });

  it('works under a base URL with a path prefix', async () => {
    respond = (_request, response) => response.end('<x/>');
    const result = await client('2.1', `${server.url}/hmrc`).fetchMessageBody({
      messageUri,
      token,
      maxBytes: 100,
    });
    expect(result.ok).toBe(true);
    expect(only().url).toBe(`/hmrc${messageUri}/body`);
  });
});

describe('getMessage', () => {
  it('asks for …+json-xml and returns the XML body', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, {
        id: messageId,
        departureId,
        received: '2022-11-10T15:32:51.459Z',
        type: 'IE028',
        status: 'Received',
        body: '<x/>',
      });
    const result = await client().getMessage({ messageUri, token });
    expect(result).toEqual({
      ok: true,
      message: {
        id: messageId,
        received: '2022-11-10T15:32:51.459Z',
        type: 'IE028',
        status: 'Received',
        body: '<x/>',
      },
    });
    expect(only().headers.accept).toBe('application/vnd.hmrc.2.1+json-xml');
  });

  it('asks for …+json when format is json', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, { id: messageId, body: { 'n1:CC028C': {} } });
    await client().getMessage({ messageUri, token, format: 'json' });
    expect(only().headers.accept).toBe('application/vnd.hmrc.2.1+json');
  });
});

describe('submissions', () => {
  it('POSTs a new declaration with Content-Type application/xml exactly', async () => {
    respond = (_request, response) =>
      sendJson(response, 202, {
        _links: { self: { href: `/customs/transits/movements/departures/${departureId}` } },
        departureId,
        messageId,
        boxId: 'b54c2424-955b-496c-bbce-dfb9f57cd797',
      });
    const xml = '<ncts:CC015C PhaseID="NCTS5.1" xmlns:ncts="http://ncts.dgtaxud.ec"/>';
    const result = await client().submitMessage({ type: 'departure', xml, token });
    expect(result).toEqual({
      ok: true,
      accepted: {
        movementType: 'departure',
        movementId: departureId,
        messageId,
        boxId: 'b54c2424-955b-496c-bbce-dfb9f57cd797',
      },
    });
    const request = only();
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/customs/transits/movements/departures');
    expect(request.headers['content-type']).toBe('application/xml');
    expect(request.headers.accept).toBe('application/vnd.hmrc.2.1+json');
    expect(request.body.toString('utf8')).toBe(xml);
  });

  it('POSTs a follow-up message to the movement', async () => {
    const arrivalId = 'aaaaaaaaaaaaaaaa';
    respond = (_request, response) => sendJson(response, 202, { arrivalId, messageId });
    const result = await client().submitMessage({
      type: 'arrival',
      movementId: arrivalId,
      xml: Buffer.from('<ncts:CC044C/>'),
      token,
    });
    expect(result).toMatchObject({
      ok: true,
      accepted: { movementType: 'arrival', movementId: arrivalId, messageId },
    });
    expect(only().url).toBe(`/customs/transits/movements/arrivals/${arrivalId}/messages`);
  });

  it('refuses, unsent, a body over the 5 MB small-message limit', async () => {
    const result = await client().submitMessage({
      type: 'departure',
      xml: Buffer.alloc(5_000_001, 0x20),
      token,
    });
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'too-large', sent: false, limit: 5_000_000 },
    });
    expect(server.connections).toBe(0);
  });

  it('a 202 without the movement id is an invalid response (the outcome is unknown)', async () => {
    respond = (_request, response) => sendJson(response, 202, { messageId });
    const result = await client().submitMessage({ type: 'departure', xml: '<x/>', token });
    expect(result).toMatchObject({ ok: false, error: { kind: 'invalid-response', status: 202 } });
  });

  it('initiates a large message with no body and no Content-Type', async () => {
    const uploadRequest = {
      href: `${server.url}/upscan/upload`,
      fields: { key: 'abc', 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
    };
    respond = (_request, response) =>
      sendJson(response, 202, { departureId, messageId, uploadRequest });
    const result = await client().initiateLargeMessage({ type: 'departure', token });
    expect(result).toEqual({
      ok: true,
      accepted: { movementType: 'departure', movementId: departureId, messageId, uploadRequest },
    });
    const request = only();
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/customs/transits/movements/departures');
    expect(request.headers).not.toHaveProperty('content-type');
    expect(request.body).toHaveLength(0);
    expect(request.headers.accept).toBe('application/vnd.hmrc.2.1+json');
  });

  it('uploads multipart/form-data: fields in order, then the file last as application/xml, no token', async () => {
    respond = (_request, response) => {
      response.writeHead(204);
      response.end();
    };
    const fields = { key: 'uploads/1', 'x-amz-algorithm': 'AWS4-HMAC-SHA256', policy: 'cG9saWN5' };
    const xml = '<ncts:CC015C>large</ncts:CC015C>';
    // The upload host is not HMRC's API host (as at HMRC, where it is Upscan's proxy).
    const uploader = new CtcClient({
      baseUrl: server.url,
      apiVersion: '2.1',
      timeoutMs: 5000,
      dispatcher,
      upload: { hosts: [`localhost:${server.port}`], allowHttp: true },
    });
    const result = await uploader.uploadLargeMessage(
      { href: `http://localhost:${server.port}/upscan/upload`, fields },
      xml,
    );
    expect(result).toEqual({ ok: true, status: 204 });
    const request = only();
    expect(request.url).toBe('/upscan/upload');
    expect(request.headers).not.toHaveProperty('authorization');
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(
      String(request.headers['content-type']),
    )?.[1];
    expect(boundary).toBeDefined();
    const parts = request.body
      .toString('utf8')
      .split(`--${boundary}`)
      .slice(1, -1)
      .map((part) => part.replace(/^\r\n/, '').replace(/\r\n$/, ''));
    expect(parts.map((part) => /name="([^"]+)"/.exec(part)?.[1])).toEqual([
      'key',
      'x-amz-algorithm',
      'policy',
      'file',
    ]);
    expect(parts[0]).toBe('Content-Disposition: form-data; name="key"\r\n\r\nuploads/1');
    expect(parts[3]).toContain('\r\nContent-Type: application/xml\r\n\r\n');
    expect(parts[3]!.endsWith(`\r\n\r\n${xml}`)).toBe(true);
    expect(request.body.toString('utf8').endsWith(`--${boundary}--\r\n`)).toBe(true);
  });
});

describe('listings', () => {
  it('lists movements with percent-encoded ISO 8601 filters', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, {
        totalCount: 1,
        departures: [
          {
            id: departureId,
            movementReferenceNumber: '23GB000246IF9W5YJ0',
            localReferenceNumber: 'LRN-1',
            created: '2024-01-01T10:00:00Z',
            updated: '2024-01-02T10:00:00Z',
            enrollmentEORINumber: 'GB123456789000',
            movementEORINumber: 'GB123456789000',
            _links: {},
          },
        ],
      });
    const result = await client().listMovements({
      type: 'departure',
      token,
      updatedSince: '2021-06-21T09:00:00+00:00',
      receivedUntil: new Date('2021-06-22T09:00:00.000Z'),
      movementEORI: 'GB123456789000',
      localReferenceNumber: 'LRN 1/2',
      movementReferenceNumber: '23GB000246IF9W5YJ0',
      page: 2,
      count: 500,
    });
    expect(result).toMatchObject({
      ok: true,
      list: { totalCount: 1, movements: [{ id: departureId, localReferenceNumber: 'LRN-1' }] },
    });
    const request = only();
    expect(request.url).toBe(
      '/customs/transits/movements/departures?updatedSince=2021-06-21T09%3A00%3A00%2B00%3A00' +
        '&movementEORI=GB123456789000&movementReferenceNumber=23GB000246IF9W5YJ0&localReferenceNumber=LRN%201%2F2' +
        '&page=2&count=500&receivedUntil=2021-06-22T09%3A00%3A00.000Z',
    );
    expect(request.headers.accept).toBe('application/vnd.hmrc.2.1+json');
  });

  it.each([
    [{ count: 501 }, /count/],
    [{ page: 0 }, /page/],
    [{ updatedSince: '2021-06-21T09:00:00' }, /updatedSince/],
    [{ updatedSince: new Date('nope') }, /updatedSince/],
    [{ movementEORI: 'GB1&x=1' }, /movementEORI/],
  ])('refuses bad parameters without calling HMRC: %j', async (filters, message) => {
    const result = await client().listMovements({ type: 'departure', token, ...filters });
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'refused', message: expect.stringMatching(message) },
    });
    expect(server.connections).toBe(0);
  });

  it("lists a movement's messages", async () => {
    respond = (_request, response) =>
      sendJson(response, 200, {
        totalCount: 2,
        messages: [
          {
            id: messageId,
            departureId,
            received: '2022-11-10T15:32:51.459Z',
            type: 'IE028',
            status: 'Received',
          },
          {
            id: '1111111111111111',
            departureId,
            received: '2022-11-10T15:30:00.000Z',
            status: 'Pending',
          },
        ],
      });
    const result = await client().listMessages(
      'departure',
      departureId,
      { receivedSince: '2022-11-10T00:00:00Z', count: 25 },
      token,
    );
    expect(result).toEqual({
      ok: true,
      list: {
        totalCount: 2,
        messages: [
          {
            id: messageId,
            received: '2022-11-10T15:32:51.459Z',
            type: 'IE028',
            status: 'Received',
          },
          { id: '1111111111111111', received: '2022-11-10T15:30:00.000Z', status: 'Pending' },
        ],
      },
    });
    expect(only().url).toBe(
      `/customs/transits/movements/departures/${departureId}/messages?receivedSince=2022-11-10T00%3A00%3A00Z&count=25`,
    );
  });

  it('a list with a broken entry is an invalid response, not a shorter list', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, { totalCount: 1, messages: [{ id: '../x' }] });
    const result = await client().listMessages('departure', departureId, {}, token);
    expect(result).toMatchObject({ ok: false, error: { kind: 'invalid-response', status: 200 } });
  });
});

describe('PPNS pull', () => {
  const boxId = '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e';
  const notification = {
    notificationId: '1ed5f407-8096-40d1-87ef-9a2a103eeb85',
    boxId,
    messageContentType: 'application/json',
    message:
      '{"messageUri":"/customs/transits/movements/departures/0123456789abcdef/messages/fedcba9876543210"}',
    status: 'PENDING',
    createdDateTime: '2020-06-01T10:20:23.160+0000',
  };

  it('lists notifications with Accept 1.0+json and returns bad entries separately', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, [notification, { notificationId: 'nope' }]);
    const result = await client().listBoxNotifications(
      boxId,
      { status: 'PENDING', fromDate: new Date('2020-06-01T00:00:00Z'), count: 100 },
      'app-token',
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.notifications).toHaveLength(1);
    expect(result.notifications[0]).toMatchObject({
      notificationId: notification.notificationId,
      status: 'PENDING',
    });
    expect(result.invalid).toEqual([
      {
        index: 1,
        raw: { notificationId: 'nope' },
        error: expect.objectContaining({ field: 'notificationId' }),
      },
    ]);
    const request = only();
    expect(request.url).toBe(
      `/misc/push-pull-notification/box/${boxId}/notifications?status=PENDING&fromDate=2020-06-01T00%3A00%3A00.000Z&count=100`,
    );
    expect(request.headers.accept).toBe('application/vnd.hmrc.1.0+json');
    expect(request.headers.authorization).toBe('Bearer app-token');
  });

  it('acknowledges with PUT …/acknowledge and a JSON body', async () => {
    respond = (_request, response) => {
      response.writeHead(204);
      response.end();
    };
    const ids = [notification.notificationId, '2ed5f407-8096-40d1-87ef-9a2a103eeb85'];
    const result = await client().acknowledgeNotifications(boxId, ids, 'app-token');
    expect(result).toEqual({ ok: true, acknowledged: 2 });
    const request = only();
    expect(request.method).toBe('PUT');
    expect(request.url).toBe(`/misc/push-pull-notification/box/${boxId}/notifications/acknowledge`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers.accept).toBe('application/vnd.hmrc.1.0+json');
    expect(JSON.parse(request.body.toString('utf8'))).toEqual({ notificationIds: ids });
  });

  it.each([
    [[], /1 to 100/],
    [
      Array.from(
        { length: 101 },
        (_, index) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      ),
      /1 to 100/,
    ],
    [[notification.notificationId, notification.notificationId], /repeat/],
    [['not-a-uuid'], /UUID/],
  ])('refuses an invalid acknowledgement without calling PPNS (%#)', async (ids, message) => {
    const result = await client().acknowledgeNotifications(boxId, ids, 'app-token');
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'refused', message: expect.stringMatching(message) },
    });
    expect(server.connections).toBe(0);
  });
});

describe('Guarantee Balance', () => {
  it('POSTs the access code as JSON with Accept 2.0+json', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, {
        _links: { self: { href: '/customs/guarantees/23GB0123456789AB2/balance' } },
        balance: 12345678.9,
        currency: 'GBP',
      });
    const result = await client().checkGuaranteeBalance('23GB0123456789AB2', 'AB12', token);
    expect(result).toEqual({ ok: true, balance: { balance: 12345678.9, currency: 'GBP' } });
    const request = only();
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/customs/guarantees/23GB0123456789AB2/balance');
    expect(request.headers.accept).toBe('application/vnd.hmrc.2.0+json');
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body.toString('utf8'))).toEqual({ accessCode: 'AB12' });
  });

  it('refuses a malformed GRN or access code without calling HMRC', async () => {
    expect(await client().checkGuaranteeBalance('23GB01/../x', 'AB12', token)).toMatchObject({
      ok: false,
      error: { kind: 'refused' },
    });
    const badCode = await client().checkGuaranteeBalance('23GB0123456789AB2', 'AB1', token);
    expect(badCode).toMatchObject({ ok: false, error: { kind: 'refused' } });
    expect(JSON.stringify(badCode)).not.toContain('AB1');
    expect(server.connections).toBe(0);
  });
});
