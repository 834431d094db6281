// Risk retired: a movement's messages come back from us as HMRC serves them (newest first, paged,
// the same JSON), and a message body comes back byte for byte as NCTS wrote it, including bytes
// that text handling likes to "fix" (BOM, CRLF, non-ASCII), from whichever partition holds it.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { INLINE_BODY_MAX_BYTES } from './message-queries.js';
import { keys, startTestApi, type TestApi } from '../test-support/api.js';
import { example, seedMessage, seedMovement, type SeededMovement } from '../test-support/seed.js';

let api: TestApi;
let movement: SeededMovement;
let oldMovement: SeededMovement;
const boxId = '1c5b9365-18a6-45a5-99c9-83a091ac7f26';

const declaration = example('cc015c-valid.xml');
const release = example('ie029-example-november-2023.xml');
// A real message with the bytes that a decode/re-encode would change.
const awkward = Buffer.concat([
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from(
    example('cc015c-minimal.xml')
      .toString('utf8')
      .replace(/\n/g, '\r\n')
      .replace(/<\/messageRecipient>/, '</messageRecipient><!-- Zürich – “quoted” ✓ -->'),
    'utf8',
  ),
]);

const ids = {
  declaration: '1000000000000001',
  release: '1000000000000002',
  unknownType: '1000000000000003',
  pending: '1000000000000004',
};

beforeAll(async () => {
  api = await startTestApi();
  movement = await seedMovement(api.db, {
    movementId: 'abcdef0123456789',
    boxId,
    createdAt: new Date('2026-11-10T09:00:00.000Z'),
  });
  await seedMessage(api.db, movement, {
    messageId: ids.declaration,
    messageType: 'IE015',
    body: declaration,
    direction: 'outbound',
    source: 'submission',
    hmrcStatus: 'Success',
    receivedAt: new Date('2026-11-10T09:00:00.000Z'),
  });
  await seedMessage(api.db, movement, {
    messageId: ids.release,
    messageType: 'IE029',
    body: release,
    receivedAt: new Date('2026-11-10T11:30:00.250Z'),
  });
  await seedMessage(api.db, movement, {
    messageId: ids.unknownType,
    messageType: null,
    body: awkward,
    receivedAt: new Date('2026-11-10T10:00:00.000Z'),
  });
  await seedMessage(api.db, movement, {
    messageId: ids.pending,
    messageType: 'IE013',
    body: Buffer.alloc(0),
    direction: 'outbound',
    source: 'submission',
    hmrcStatus: 'Pending',
    receivedAt: new Date('2026-11-10T12:00:00.000Z'),
  });
  // Movements first seen long ago keep their messages in older partitions (here the default one).
  oldMovement = await seedMovement(api.db, {
    movementType: 'arrival',
    movementId: '00000000000000aa',
    createdAt: new Date('2024-01-15T09:00:00.000Z'),
  });
  await seedMessage(api.db, oldMovement, {
    messageId: '20000000000000a1',
    messageType: 'IE043',
    body: example('cc043c-valid.xml'),
    receivedAt: new Date('2024-01-16T09:00:00.000Z'),
  });
});

afterAll(async () => {
  await api.close();
});

const movementUrl = '/customs/transits/movements/departures/abcdef0123456789';
const messageUrl = (messageId: string) => `${movementUrl}/messages/${messageId}`;

const summary = (messageId: string, fields: Record<string, unknown>) => ({
  _links: { self: { href: messageUrl(messageId) }, departure: { href: movementUrl } },
  id: messageId,
  departureId: 'abcdef0123456789',
  ...fields,
});

// HMRC's fields only, `received` as HMRC writes times (no trailing zeros in the fraction).
const expected = {
  pending: summary(ids.pending, { received: '2026-11-10T12:00:00Z', status: 'Pending' }),
  release: summary(ids.release, {
    received: '2026-11-10T11:30:00.25Z',
    type: 'IE029',
    status: 'Received',
  }),
  unknownType: summary(ids.unknownType, {
    received: '2026-11-10T10:00:00Z',
    type: null,
    status: 'Received',
  }),
  declaration: summary(ids.declaration, {
    received: '2026-11-10T09:00:00Z',
    type: 'IE015',
    status: 'Success',
  }),
};

const xmlAccept = { accept: 'application/vnd.hmrc.2.1+xml' };
const jsonXmlAccept = { accept: 'application/vnd.hmrc.2.1+json-xml' };

describe('GET …/{departureId}/messages', () => {
  it('lists the messages newest first, without bodies, in HMRC shape', async () => {
    const response = await api.get(`${movementUrl}/messages`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      _links: { self: { href: `${movementUrl}/messages` }, departure: { href: movementUrl } },
      totalCount: 4,
      // `type` is left out while Pending and null when unknown, as HMRC writes it.
      messages: [expected.pending, expected.release, expected.unknownType, expected.declaration],
    });
  });

  it('filters by receivedSince and receivedUntil and pages', async () => {
    const range = await api.get(
      `${movementUrl}/messages?receivedSince=2026-11-10T10:00:00Z&receivedUntil=2026-11-10T11:30:00.250Z`,
    );
    const body = await range.json();
    expect(body._links.self.href).toBe(
      `${movementUrl}/messages?receivedSince=2026-11-10T10%3A00%3A00Z&receivedUntil=2026-11-10T11%3A30%3A00.25Z`,
    );
    expect(body.totalCount).toBe(2);
    expect(body.messages).toEqual([expected.release, expected.unknownType]);

    const second = await (await api.get(`${movementUrl}/messages?page=2&count=3`)).json();
    expect(second.totalCount).toBe(4);
    expect(second.messages).toEqual([expected.declaration]);
    const past = await api.get(`${movementUrl}/messages?page=3&count=3`);
    expect(past.status).toBe(404);
    expect(await past.json()).toEqual({
      code: 'NOT_FOUND',
      message: 'The requested page does not exist',
    });
    const empty = await api.get(`${movementUrl}/messages?receivedSince=2027-01-01T00:00:00Z`);
    expect(empty.status).toBe(200);
    expect((await empty.json()).messages).toEqual([]);
  });

  it('finds messages in the partition of a movement first seen long ago', async () => {
    const body = await (
      await api.get('/customs/transits/movements/arrivals/00000000000000aa/messages')
    ).json();
    expect(body.totalCount).toBe(1);
    expect(body.messages[0]).toEqual({
      _links: {
        self: {
          href: '/customs/transits/movements/arrivals/00000000000000aa/messages/20000000000000a1',
        },
        arrival: { href: '/customs/transits/movements/arrivals/00000000000000aa' },
      },
      id: '20000000000000a1',
      arrivalId: '00000000000000aa',
      received: '2024-01-16T09:00:00Z',
      type: 'IE043',
      status: 'Received',
    });
  });

  it('keeps boxId and requestId in the /v1 view of the same list', async () => {
    const body = await (await api.get('/v1/departures/abcdef0123456789/messages')).json();
    expect(body.totalCount).toBe(4);
    expect(body.messages[1]).toEqual({
      ...expected.release,
      received: '2026-11-10T11:30:00.250Z',
      boxId,
      requestId: movementUrl,
    });
  });

  it("answers 404 for an unknown movement and for another trader's", async () => {
    for (const [path, key] of [
      ['/customs/transits/movements/departures/ffffffffffffffff/messages', keys.all],
      [`${movementUrl}/messages`, keys.b],
    ] as const) {
      const response = await api.get(path, { key });
      expect(response.status).toBe(404);
      expect((await response.json()).message).toMatch(
        /^Departure movement with ID [0-9a-f]{16} was not found$/,
      );
    }
    expect((await api.get(`${movementUrl}/messages`, { key: keys.a })).status).toBe(200);
  });

  it('validates paging parameters', async () => {
    const response = await api.get(`${movementUrl}/messages?count=0`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      message: 'The count parameter must be a positive number',
      code: 'BAD_REQUEST',
    });
  });
});

describe('GET …/messages/{messageId}', () => {
  it.each([
    ['+json-xml', 'application/vnd.hmrc.2.1+json-xml'],
    ['+json+xml', 'application/vnd.hmrc.2.1+json+xml'],
    ['3.0 +json-xml', 'application/vnd.hmrc.3.0+JSON-XML'],
  ])('returns metadata and the XML as a string (%s)', async (_label, accept) => {
    const response = await api.get(messageUrl(ids.release), { headers: { accept } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ ...expected.release, body: release.toString('utf8') });
  });

  it('returns the XML converted to JSON as HMRC converts it with +json', async () => {
    const response = await api.get(messageUrl(ids.release), {
      headers: { accept: 'application/vnd.hmrc.2.1+json' },
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect({ ...body, body: undefined }).toEqual({ ...expected.release, body: undefined });
    const root = body.body['n1:CC029C'];
    expect(Object.keys(body.body)).toEqual(['n1:CC029C']);
    // Numbers per the XSD types, repeating elements always arrays, codes as strings.
    expect(typeof root.Consignment.grossMass).toBe('number');
    expect(Array.isArray(root.Consignment.HouseConsignment)).toBe(true);
    expect(typeof root.Consignment.HouseConsignment[0].sequenceNumber).toBe('number');
    expect(typeof root.TransitOperation.security).toBe('string');
    expect(root['@PhaseID']).toMatch(/^NCTS5/);
  });

  it("refuses messages it cannot serve in the representation asked for, with HMRC's 406", async () => {
    for (const accept of [
      'application/vnd.hmrc.2.1+xml',
      'application/json',
      'application/vnd.hmrc.2.0+json-xml',
    ]) {
      const response = await api.get(messageUrl(ids.release), { headers: { accept } });
      expect(response.status).toBe(406);
      expect((await response.json()).code).toBe('NOT_ACCEPTABLE');
    }
  });

  it('converts an NCTS phase 6 message only for 3.0 readers (the 2.1 converter cannot read it)', async () => {
    const phase6 = await seedMovement(api.db, { movementId: '00000000000006aa' });
    await seedMessage(api.db, phase6, {
      messageId: '60000000000000a1',
      messageType: 'IE015',
      body: Buffer.from(
        declaration.toString('utf8').replace(/PhaseID="NCTS5\.\d"/, 'PhaseID="NCTS6"'),
      ),
      phase: 'NCTS6',
      receivedAt: new Date('2026-11-10T09:00:00.000Z'),
    });
    const url = '/customs/transits/movements/departures/00000000000006aa/messages/60000000000000a1';
    const old = await api.get(url, { headers: { accept: 'application/vnd.hmrc.2.1+json' } });
    expect(old.status).toBe(406);
    expect(await old.json()).toEqual({
      message: expect.stringContaining('application/vnd.hmrc.3.0+json'),
      code: 'NOT_ACCEPTABLE',
    });
    const current = await api.get(url, { headers: { accept: 'application/vnd.hmrc.3.0+json' } });
    expect(current.status).toBe(200);
    expect((await current.json()).body['n1:CC015C']['@PhaseID']).toBe('NCTS6');
    // The XML itself is served to either version.
    const asXml = await api.get(url, { headers: jsonXmlAccept });
    expect(asXml.status).toBe(200);
  });

  it('keeps unusual characters of the body intact in the JSON string', async () => {
    const body = await (
      await api.get(messageUrl(ids.unknownType), { headers: jsonXmlAccept })
    ).json();
    expect(Buffer.from(body.body, 'utf8').equals(awkward)).toBe(true);
  });

  it('leaves out type and body of a pending submission', async () => {
    expect(await (await api.get(messageUrl(ids.pending))).json()).toEqual(expected.pending);
  });

  it('answers 404 in HMRC words for a missing message or a movement the key may not see', async () => {
    for (const [path, key] of [
      [messageUrl('ffffffffffffffff'), keys.all],
      [messageUrl(ids.release), keys.b],
      ['/customs/transits/movements/arrivals/abcdef0123456789/messages/1000000000000002', keys.all],
    ] as const) {
      const response = await api.get(path, { key });
      expect(response.status).toBe(404);
      const messageId = path.split('/').pop();
      expect(await response.json()).toEqual({
        message: `Message with ID ${messageId} for movement abcdef0123456789 was not found`,
        code: 'NOT_FOUND',
      });
    }
  });

  it('rejects a malformed message id', async () => {
    const response = await api.get(messageUrl('zz'));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      message: 'messageId: Value zz is not a 16 character hexadecimal string',
      statusCode: 400,
      code: 'BAD_REQUEST',
    });
  });
});

describe('GET …/messages/{messageId}/body', () => {
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it.each([
    ['a 33 KB IE029', ids.release, release],
    ['an outbound IE015', ids.declaration, declaration],
    ['a body with BOM, CRLF and non-ASCII', ids.unknownType, awkward],
  ])('serves %s byte for byte', async (_label, messageId, bytes) => {
    const response = await api.get(`${messageUrl(messageId)}/body`, { headers: xmlAccept });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/xml');
    expect(response.headers.get('content-length')).toBe(String(bytes.length));
    expect(response.headers.get('etag')).toBe(`"${sha256(bytes)}"`);
    const received = Buffer.from(await response.arrayBuffer());
    expect(received.equals(bytes)).toBe(true);
  });

  it('accepts +xml of either version and refuses what HMRC refuses', async () => {
    for (const accept of ['application/vnd.hmrc.2.1+xml', 'application/vnd.hmrc.3.0+XML']) {
      const response = await api.get(`${messageUrl(ids.release)}/body`, { headers: { accept } });
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(release)).toBe(true);
    }
    for (const accept of ['application/xml', 'application/vnd.hmrc.2.1+json-xml']) {
      const response = await api.get(`${messageUrl(ids.release)}/body`, { headers: { accept } });
      expect(response.status).toBe(406);
    }
  });

  it('answers 304 when the client already has these bytes', async () => {
    const response = await api.get(`${messageUrl(ids.release)}/body`, {
      headers: { ...xmlAccept, 'if-none-match': `"${sha256(release)}"` },
    });
    expect(response.status).toBe(304);
    expect(response.headers.get('etag')).toBe(`"${sha256(release)}"`);
    expect((await response.arrayBuffer()).byteLength).toBe(0);
    const stale = await api.get(`${messageUrl(ids.release)}/body`, {
      headers: { ...xmlAccept, 'if-none-match': '"0000"' },
    });
    expect(stale.status).toBe(200);
  });

  it('serves the body converted to JSON with +json', async () => {
    const response = await api.get(`${messageUrl(ids.declaration)}/body`, {
      headers: { accept: 'application/vnd.hmrc.3.0+json' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = await response.json();
    expect(Object.keys(body)).toEqual(['n1:CC015C']);
    expect(Array.isArray(body['n1:CC015C'].Guarantee)).toBe(true);
  });

  it('answers 404 for a message without a body, a missing message and a hidden movement', async () => {
    const noBody = await api.get(`${messageUrl(ids.pending)}/body`, { headers: xmlAccept });
    expect(noBody.status).toBe(404);
    expect(await noBody.json()).toEqual({
      message: `Body for message id ${ids.pending} does not exist`,
      code: 'NOT_FOUND',
    });
    const hidden = await api.get(`${messageUrl(ids.release)}/body`, {
      key: keys.b,
      headers: xmlAccept,
    });
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toEqual({
      message: `Message with ID ${ids.release} for movement abcdef0123456789 was not found`,
      code: 'NOT_FOUND',
    });
  });

  it('streams a body larger than one chunk byte for byte, with every byte value', async () => {
    // 2.5 chunks: whole chunks, a partial last one, and bytes no text decoding survives.
    const bytes = Buffer.alloc(Math.floor(INLINE_BODY_MAX_BYTES * 2.5));
    for (let index = 0; index < bytes.length; index += 1) bytes[index] = (index * 7 + 3) % 256;
    const large = await seedMovement(api.db, {
      movementId: '00000000000000bb',
      boxId,
      createdAt: new Date('2026-11-10T09:00:00.000Z'),
    });
    await seedMessage(api.db, large, {
      messageId: '30000000000000b1',
      messageType: 'IE029',
      body: bytes,
      receivedAt: new Date('2026-11-10T09:30:00.000Z'),
    });
    const response = await api.get(
      '/customs/transits/movements/departures/00000000000000bb/messages/30000000000000b1/body',
      { headers: xmlAccept },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(bytes.length));
    expect(response.headers.get('etag')).toBe(`"${sha256(bytes)}"`);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    // Over 1 MiB, it was stored uncompressed apart from the small bodies, so that each chunk
    // reads only its own part of it (not a decompression from the start).
    const stored = await sql<{ small: number; large: number; compression: string | null }>`
      SELECT octet_length(body) AS small, octet_length(body_large) AS large,
             pg_column_compression(body_large) AS compression
        FROM messages WHERE message_id = '30000000000000b1'`.execute(api.db);
    expect(stored.rows).toEqual([{ small: 0, large: bytes.length, compression: null }]);
  });
});
