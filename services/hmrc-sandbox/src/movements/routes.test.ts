import http from 'node:http';
import { buildIE028, buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { ctcJson, startTestSandbox, type TestSandbox } from '../test-helpers.js';

// The read side of the CTC Traders API as clients observe it: Accept rules per endpoint (406),
// EORI scoping (404), paging and filters, and message bodies byte-for-byte.

let sandbox: TestSandbox;
let token: string;
let otherToken: string;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.reset();
  token = sandbox.token('GB123456789000');
  otherToken = sandbox.token('GB999888777666');
});

const base = '/customs/transits/movements';

function get(
  path: string,
  accept: string | undefined = ctcJson,
  bearer = token,
): Promise<Response> {
  return fetch(`${sandbox.url}${path}`, {
    headers: { authorization: `Bearer ${bearer}`, ...(accept === undefined ? {} : { accept }) },
  });
}

const inject = (movementId: string | undefined, messageType = 'IE028', eori = 'GB123456789000') =>
  sandbox.controls.injectMessage('departure', movementId, {
    generate: { messageType: messageType as 'IE028' },
    eori,
    push: false,
  });

describe('Accept header', () => {
  const endpoints = (movementId: string, messageId: string) => ({
    list: `${base}/departures`,
    movement: `${base}/departures/${movementId}`,
    messages: `${base}/departures/${movementId}/messages`,
    message: `${base}/departures/${movementId}/messages/${messageId}`,
    body: `${base}/departures/${movementId}/messages/${messageId}/body`,
  });

  it.each([
    ['list', 'application/vnd.hmrc.2.1+json', 200],
    ['list', 'application/vnd.hmrc.3.0+json', 200],
    ['list', 'application/vnd.hmrc.2.1+xml', 406],
    ['list', 'application/vnd.hmrc.2.0+json', 406],
    ['list', 'application/json', 406],
    ['movement', 'application/vnd.hmrc.2.1+json-xml', 406],
    ['messages', 'application/vnd.hmrc.2.1+xml', 406],
    ['message', 'application/vnd.hmrc.2.1+json', 200],
    ['message', 'application/vnd.hmrc.2.1+json-xml', 200],
    ['message', 'application/vnd.hmrc.2.1+json+xml', 200],
    ['message', 'application/vnd.hmrc.2.1+xml', 406],
    ['body', 'application/vnd.hmrc.2.1+xml', 200],
    ['body', 'application/vnd.hmrc.2.1+json', 200],
    ['body', 'application/vnd.hmrc.2.1+json-xml', 406],
  ] as const)('%s with %s → %d', async (endpoint, accept, status) => {
    const { movementId, messageId } = inject(undefined);
    const response = await get(endpoints(movementId, messageId)[endpoint], accept);
    expect(response.status).toBe(status);
    if (status === 406) {
      // HMRC's ValidateAcceptRefiner words: the version and the overall form have their own.
      const message = accept.includes('2.0')
        ? 'Invalid version provided'
        : accept === 'application/json'
          ? 'Invalid accept header: application/json'
          : 'The Accept header is missing or invalid.';
      expect(await response.json()).toEqual({ code: 'NOT_ACCEPTABLE', message });
    }
  });

  it('leaves Accept 1.0 to the phase-4 API, which never lists v2.x movements', async () => {
    inject(undefined);
    const response = await get(`${base}/departures`, 'application/vnd.hmrc.1.0+json');
    expect(response.status).toBe(200);
    expect(((await response.json()) as { _embedded: unknown })._embedded).toEqual({
      departures: [],
      retrievedDepartures: 0,
      totalDepartures: 0,
    });
  });

  it('names a missing Accept header (fetch would send */*, so plain http)', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>(
      (resolve, reject) => {
        http
          .get(
            `${sandbox.url}${base}/departures`,
            { headers: { authorization: `Bearer ${token}` } },
            (response) => {
              let text = '';
              response.on('data', (chunk: Buffer) => (text += chunk.toString()));
              response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
            },
          )
          .on('error', reject);
      },
    );
    expect(status).toBe(406);
    expect(JSON.parse(body)).toEqual({
      code: 'NOT_ACCEPTABLE',
      message: 'The Accept header is missing.',
    });
    expect((await get(`${base}/departures`, '*/*')).status).toBe(406);
  });
});

describe('EORI scoping', () => {
  it('hides movements of other EORIs as 404 everywhere', async () => {
    const { movementId, messageId } = inject(undefined);
    for (const path of [
      `${base}/departures/${movementId}`,
      `${base}/departures/${movementId}/messages`,
      `${base}/departures/${movementId}/messages/${messageId}`,
    ]) {
      const response = await get(
        path,
        path.endsWith(messageId) ? 'application/vnd.hmrc.2.1+json-xml' : ctcJson,
        otherToken,
      );
      expect(response.status).toBe(404);
      expect(((await response.json()) as Record<string, string>).code).toBe('NOT_FOUND');
    }
    expect(await (await get(`${base}/departures/${movementId}`)).json()).toMatchObject({
      id: movementId,
    });
    const list = (await (await get(`${base}/departures`, ctcJson, otherToken)).json()) as Record<
      string,
      unknown
    >;
    expect(list.totalCount).toBe(0);
  });

  it('does not show a departure as an arrival', async () => {
    const { movementId } = inject(undefined);
    const response = await get(`${base}/arrivals/${movementId}`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      code: 'NOT_FOUND',
      message: `Arrival movement with ID ${movementId} was not found`,
    });
  });

  it('answers 400 to ids that are not 16 hex characters', async () => {
    const response = await get(`${base}/departures/ABC123`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as Record<string, string>).code).toBe('BAD_REQUEST');
  });
});

describe('GET movements', () => {
  it('lists summaries as HMRC does, newest update first', async () => {
    const first = inject(undefined);
    const second = inject(undefined);
    inject(first.movementId, 'IE029');
    const response = await get(`${base}/departures`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as {
      totalCount: number;
      departures: Record<string, unknown>[];
      _links: unknown;
    };
    expect(body._links).toEqual({ self: { href: `${base}/departures` } });
    expect(body.totalCount).toBe(2);
    expect(body.departures.map((movement) => movement.id)).toEqual([
      first.movementId,
      second.movementId,
    ]);
    const movement = sandbox.controls.movement(first.movementId)!;
    expect(body.departures[0]).toEqual({
      _links: {
        self: { href: `${base}/departures/${first.movementId}` },
        messages: { href: `${base}/departures/${first.movementId}/messages` },
      },
      id: first.movementId,
      movementReferenceNumber: movement.mrn,
      localReferenceNumber: movement.lrn,
      // As Play writes times: no trailing zeros in the fraction, none at all when zero.
      created: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,2}[1-9])?Z$/),
      updated: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,2}[1-9])?Z$/),
      enrollmentEORINumber: 'GB123456789000',
      movementEORINumber: 'GB123456789000',
    });
  });

  it('pages: count clamps to 500, bad values are 400, a page past the end is 404', async () => {
    for (let index = 0; index < 5; index += 1) inject(undefined);
    const page = async (query: string) => get(`${base}/departures?${query}`);
    const second = (await (await page('page=2&count=2')).json()) as {
      totalCount: number;
      departures: unknown[];
    };
    expect(second.totalCount).toBe(5);
    expect(second.departures).toHaveLength(2);
    expect(
      ((await (await page('page=3&count=2')).json()) as { departures: unknown[] }).departures,
    ).toHaveLength(1);
    expect((await page('page=4&count=2')).status).toBe(404);
    expect(await (await page('page=4&count=2')).json()).toEqual({
      code: 'NOT_FOUND',
      message: 'The requested page does not exist',
    });
    expect(
      ((await (await page('count=100000')).json()) as { departures: unknown[] }).departures,
    ).toHaveLength(5);
    for (const bad of ['count=0', 'count=-1', 'page=0']) {
      const response = await page(bad);
      expect(response.status).toBe(400);
      expect(((await response.json()) as Record<string, string>).code).toBe('BAD_REQUEST');
    }
    // Not numbers: Play's binder refuses them before HMRC's controller, in bootstrap's shape.
    expect(await (await page('count=abc')).json()).toEqual({
      statusCode: 400,
      message: 'Cannot parse parameter count as Long: For input string: "abc"',
    });
    expect(await (await page('page=1.5')).json()).toEqual({
      statusCode: 400,
      message: 'Cannot parse parameter page as Long: For input string: "1.5"',
    });
  });

  it('keeps the query in the list self links, as HMRC’s reverse route writes it', async () => {
    inject(undefined);
    const list = (await (
      await get(
        `${base}/departures?count=2&updatedSince=2020-01-01T10:00:00.500%2B01:00&movementEORI=GB123456789000`,
      )
    ).json()) as { _links: { self: { href: string } } };
    expect(list._links.self.href).toBe(
      `${base}/departures?updatedSince=2020-01-01T10%3A00%3A00.5%2B01%3A00&movementEORI=GB123456789000&count=2`,
    );
    const id = (
      (await (await get(`${base}/departures`)).json()) as { departures: { id: string }[] }
    ).departures[0]!.id;
    const messages = (await (
      await get(`${base}/departures/${id}/messages?page=1&receivedUntil=2030-01-01T00:00:00Z`)
    ).json()) as { _links: { self: { href: string } } };
    expect(messages._links.self.href).toBe(
      `${base}/departures/${id}/messages?page=1&receivedUntil=2030-01-01T00%3A00%3A00Z`,
    );
  });

  it('clamps count to 500 items per page', async () => {
    for (let index = 0; index < 501; index += 1)
      sandbox.controls.injectMessage('departure', undefined, {
        generate: { messageType: 'IE928' },
        push: false,
      });
    const body = (await (await get(`${base}/departures?count=600`)).json()) as {
      totalCount: number;
      departures: unknown[];
    };
    expect(body.totalCount).toBe(501);
    expect(body.departures).toHaveLength(500);
  });

  it('filters by MRN, LRN, movement EORI and updatedSince', async () => {
    const target = inject(undefined);
    inject(undefined);
    const movement = sandbox.controls.movement(target.movementId)!;
    const ids = async (query: string) =>
      (
        (await (await get(`${base}/departures?${query}`)).json()) as {
          departures: { id: string }[];
        }
      ).departures.map((item) => item.id);
    expect(await ids(`movementReferenceNumber=${movement.mrn}`)).toEqual([target.movementId]);
    expect(await ids(`localReferenceNumber=${movement.lrn}`)).toEqual([target.movementId]);
    expect(await ids('movementEORI=GB000000000001')).toEqual([]);
    const future = encodeURIComponent(
      new Date(Date.now() + 60_000).toISOString().replace('Z', '+00:00'),
    );
    expect(await ids(`updatedSince=${future}`)).toEqual([]);
    const past = encodeURIComponent('2020-01-01T00:00:00+00:00');
    expect(await ids(`updatedSince=${past}`)).toHaveLength(2);
    expect((await get(`${base}/departures?updatedSince=yesterday`)).status).toBe(400);
  });
});

describe('GET messages', () => {
  it('lists messages newest first with totalCount, and honours receivedSince', async () => {
    const first = inject(undefined, 'IE928');
    const second = inject(first.movementId, 'IE028');
    const third = inject(first.movementId, 'IE029');
    const response = await get(`${base}/departures/${first.movementId}/messages`);
    const body = (await response.json()) as {
      totalCount: number;
      messages: Record<string, unknown>[];
      _links: unknown;
    };
    expect(body.totalCount).toBe(3);
    expect(body._links).toEqual({
      self: { href: `${base}/departures/${first.movementId}/messages` },
      departure: { href: `${base}/departures/${first.movementId}` },
    });
    expect(body.messages.map((message) => message.type)).toEqual(['IE029', 'IE028', 'IE928']);
    expect(body.messages[0]).toEqual({
      _links: {
        self: { href: `${base}/departures/${first.movementId}/messages/${third.messageId}` },
        departure: { href: `${base}/departures/${first.movementId}` },
      },
      id: third.messageId,
      departureId: first.movementId,
      received: expect.stringMatching(/Z$/),
      type: 'IE029',
      status: 'Received',
    });
    const since = body.messages[1]!.received as string;
    const recent = (await (
      await get(
        `${base}/departures/${first.movementId}/messages?receivedSince=${encodeURIComponent(since)}`,
      )
    ).json()) as {
      messages: { id: string }[];
    };
    expect(recent.messages.map((message) => message.id)).toEqual([
      third.messageId,
      second.messageId,
    ]);
    const paged = (await (
      await get(`${base}/departures/${first.movementId}/messages?count=1&page=3`)
    ).json()) as { messages: { id: string }[] };
    expect(paged.messages.map((message) => message.id)).toEqual([first.messageId]);
  });
});

describe('GET a message and its body', () => {
  it('returns the stored bytes unchanged with +xml, and as a string with +json-xml', async () => {
    // Odd but legal bytes (CRLF, a comment, an entity) must come back exactly.
    const xml = buildIE028({ eori: 'GB123456789000' })
      .replace('\n', '\r\n')
      .replace('</ncts:CC028C>', '<!-- é & -->\n</ncts:CC028C>');
    const { movementId, messageId } = sandbox.controls.injectMessage('departure', undefined, {
      xml,
      push: false,
    });
    const raw = await get(
      `${base}/departures/${movementId}/messages/${messageId}/body`,
      'application/vnd.hmrc.2.1+xml',
    );
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(Buffer.from(await raw.arrayBuffer()).equals(Buffer.from(xml, 'utf8'))).toBe(true);

    const single = (await (
      await get(
        `${base}/departures/${movementId}/messages/${messageId}`,
        'application/vnd.hmrc.2.1+json-xml',
      )
    ).json()) as Record<string, unknown>;
    expect(single).toMatchObject({
      id: messageId,
      departureId: movementId,
      type: 'IE028',
      status: 'Received',
      body: xml,
    });
  });

  it('converts the body to HMRC’s JSON shape with +json', async () => {
    const { movementId, messageId } = inject(undefined, 'IE028');
    const movement = sandbox.controls.movement(movementId)!;
    const response = await get(`${base}/departures/${movementId}/messages/${messageId}`, ctcJson);
    const body = ((await response.json()) as { body: Record<string, Record<string, unknown>> })
      .body;
    expect(Object.keys(body)).toEqual(['n1:CC028C']);
    expect(body['n1:CC028C']).toMatchObject({
      '@PhaseID': 'NCTS5.0',
      messageType: 'CC028C',
      TransitOperation: { LRN: movement.lrn, MRN: movement.mrn },
    });
    const bodyOnly = (await (
      await get(`${base}/departures/${movementId}/messages/${messageId}/body`, ctcJson)
    ).json()) as Record<string, unknown>;
    expect(Object.keys(bodyOnly)).toEqual(['n1:CC028C']);
  });

  it('refuses JSON for messages over 5 MB but serves their XML', async () => {
    const xml = buildMessageOfSize('IE029', 5_000_001, { eori: 'GB123456789000' });
    const { movementId, messageId } = sandbox.controls.injectMessage('departure', undefined, {
      xml,
      push: false,
    });
    const asJson = await get(
      `${base}/departures/${movementId}/messages/${messageId}/body`,
      ctcJson,
    );
    expect(asJson.status).toBe(406);
    expect(await asJson.json()).toEqual({
      code: 'NOT_ACCEPTABLE',
      message: 'Large messages cannot be returned as json',
    });
    const asXml = await get(
      `${base}/departures/${movementId}/messages/${messageId}/body`,
      'application/vnd.hmrc.2.1+xml',
    );
    expect((await asXml.arrayBuffer()).byteLength).toBe(Buffer.byteLength(xml));
  });

  it('answers 404 for unknown messages', async () => {
    const { movementId } = inject(undefined);
    const response = await get(
      `${base}/departures/${movementId}/messages/0123456789abcdef`,
      'application/vnd.hmrc.2.1+json-xml',
    );
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      code: 'NOT_FOUND',
      message: `Message with ID 0123456789abcdef for movement ${movementId} was not found`,
    });
  });
});
