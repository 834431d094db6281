// Risk retired: clients written for HMRC's CTC Traders API v2.1 can list and read movements from
// us unchanged (paths, parameters, paging rules, JSON fields, error bodies), and an API key
// limited to some EORIs never sees another trader's movements.
import { get as httpGet } from 'node:http';
import { sql } from 'kysely';
import {
  eoriA,
  eoriB,
  keys,
  startTestApi,
  type TestApi,
  type TestResponse,
} from '../test-support/api.js';
import { seedMovement, type SeededMovement } from '../test-support/seed.js';

let api: TestApi;
const boxId = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
let newest: SeededMovement; // eoriA, MRN allocated
let middle: SeededMovement; // eoriA, no MRN yet, updated_at with microseconds
let otherTrader: SeededMovement; // eoriB
let declaredForA: SeededMovement; // enrolled by someone else, declaration names eoriA
let arrival: SeededMovement;

beforeAll(async () => {
  api = await startTestApi();
  newest = await seedMovement(api.db, {
    movementId: 'aaaaaaaaaaaaaaa1',
    mrn: '24GB00000000000AA1',
    lrn: 'LRN-NEWEST',
    movementEori: eoriA,
    boxId,
    status: 'released',
    createdAt: new Date('2026-11-02T08:00:00.000Z'),
    updatedAt: new Date('2026-11-05T12:00:00.000Z'),
  });
  middle = await seedMovement(api.db, {
    movementId: 'aaaaaaaaaaaaaaa2',
    lrn: 'LRN-MIDDLE',
    createdAt: new Date('2026-11-03T08:00:00.000Z'),
  });
  // Stored times carry microseconds; responses show milliseconds.
  await sql`UPDATE movements SET updated_at = '2026-11-04T10:00:00.123456Z' WHERE movement_id = ${middle.movementId}`.execute(
    api.db,
  );
  otherTrader = await seedMovement(api.db, {
    movementId: 'bbbbbbbbbbbbbbb1',
    enrollmentEori: eoriB,
    lrn: 'LRN-B',
    createdAt: new Date('2026-11-01T08:00:00.000Z'),
    updatedAt: new Date('2026-11-04T09:00:00.000Z'),
  });
  declaredForA = await seedMovement(api.db, {
    movementId: 'ccccccccccccccc1',
    enrollmentEori: 'XI000000000009',
    movementEori: eoriA,
    createdAt: new Date('2026-11-01T07:00:00.000Z'),
    updatedAt: new Date('2026-11-03T09:00:00.000Z'),
  });
  // An API 1.0 movement (decimal id): served by /v1 only, never in HMRC's lists.
  await seedMovement(api.db, {
    movementId: '12',
    lrn: 'LRN-V1',
    createdAt: new Date('2026-10-01T08:00:00.000Z'),
    updatedAt: new Date('2026-10-02T08:00:00.000Z'),
  });
  arrival = await seedMovement(api.db, {
    movementType: 'arrival',
    movementId: 'ddddddddddddddd1',
    mrn: '24GB00000000000DD1',
    lrn: 'SHOULD-NOT-SHOW',
    movementEori: eoriA,
    createdAt: new Date('2026-11-04T08:00:00.000Z'),
    updatedAt: new Date('2026-11-06T08:00:00.000Z'),
  });
});

afterAll(async () => {
  await api.close();
});

const departure = (id: string) => `/customs/transits/movements/departures/${id}`;

/** What HMRC's list item looks like for a departure: HMRC's fields only, times as HMRC writes them. */
const newestJson = () => ({
  _links: {
    self: { href: departure(newest.movementId) },
    messages: { href: `${departure(newest.movementId)}/messages` },
  },
  id: 'aaaaaaaaaaaaaaa1',
  movementReferenceNumber: '24GB00000000000AA1',
  localReferenceNumber: 'LRN-NEWEST',
  created: '2026-11-02T08:00:00Z',
  updated: '2026-11-05T12:00:00Z',
  enrollmentEORINumber: eoriA,
  movementEORINumber: eoriA,
});

const ids = (body: { departures?: { id: string }[]; arrivals?: { id: string }[] }) =>
  (body.departures ?? body.arrivals ?? []).map((movement) => movement.id);

describe('GET /customs/transits/movements/departures', () => {
  it('lists departures newest updated first, in HMRC shape', async () => {
    const response = await api.get('/customs/transits/movements/departures');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await response.json();
    expect(body._links).toEqual({ self: { href: '/customs/transits/movements/departures' } });
    // The API 1.0 movement (decimal id) is not HMRC 2.1's to list: /v1/departures/12 serves it.
    expect(body.totalCount).toBe(4);
    expect(ids(body)).toEqual([
      newest.movementId,
      middle.movementId,
      otherTrader.movementId,
      declaredForA.movementId,
    ]);
    expect(body.departures[0]).toEqual(newestJson());
    // No MRN allocated yet and no declaration EORI: null, as HMRC writes an empty Option.
    expect(body.departures[1]).toEqual({
      _links: {
        self: { href: departure(middle.movementId) },
        messages: { href: `${departure(middle.movementId)}/messages` },
      },
      id: middle.movementId,
      movementReferenceNumber: null,
      localReferenceNumber: 'LRN-MIDDLE',
      created: '2026-11-03T08:00:00Z',
      updated: '2026-11-04T10:00:00.123Z',
      enrollmentEORINumber: eoriA,
      movementEORINumber: null,
    });
  });

  it('pages with page/count, echoes them in the self link, and 404s past the last page', async () => {
    const second = await api.get('/customs/transits/movements/departures?page=2&count=2');
    expect(second.status).toBe(200);
    const body = await second.json();
    expect(body._links.self.href).toBe('/customs/transits/movements/departures?page=2&count=2');
    expect(body.totalCount).toBe(4);
    expect(ids(body)).toEqual([otherTrader.movementId, declaredForA.movementId]);

    const past = await api.get('/customs/transits/movements/departures?page=3&count=2');
    expect(past.status).toBe(404);
    expect(await past.json()).toEqual({
      code: 'NOT_FOUND',
      message: 'The requested page does not exist',
    });
  });

  it('answers page 1 of an empty result with 200 and an empty list, like HMRC', async () => {
    for (const query of ['?movementReferenceNumber=NOPE', '?movementReferenceNumber=NOPE&page=1']) {
      const response = await api.get(`/customs/transits/movements/departures${query}`);
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body.totalCount).toBe(0);
      expect(body.departures).toEqual([]);
    }
    const second = await api.get(
      '/customs/transits/movements/departures?movementReferenceNumber=NOPE&page=2',
    );
    expect(second.status).toBe(404);
  });

  it.each([
    ['count=0', 'The count parameter must be a positive number'],
    ['count=-3', 'The count parameter must be a positive number'],
    ['page=0', 'The page parameter must be a positive number'],
  ])('rejects %s with 400 in the shape of HMRC controllers', async (query, message) => {
    const response = await api.get(`/customs/transits/movements/departures?${query}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message, code: 'BAD_REQUEST' });
  });

  it.each([
    ['count=ten', 'Cannot parse parameter count as Long: For input string: "ten"'],
    ['count=', 'Cannot parse parameter count as Long: For input string: ""'],
    ['page=1.5', 'Cannot parse parameter page as Long: For input string: "1.5"'],
    ['updatedSince=0000-01-01T00:00:00Z', 'Year cannot be negative'],
    [
      'updatedSince=yesterday',
      'Cannot parse parameter updatedSince as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00',
    ],
    [
      'receivedUntil=2026-02-30T00:00:00Z',
      'Cannot parse parameter receivedUntil as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00',
    ],
    [
      'updatedSince=2026-11-01T00:00:00',
      'Cannot parse parameter updatedSince as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00',
    ],
  ])('rejects %s with 400 in the shape of Play binders (no code)', async (query, message) => {
    const response = await api.get(`/customs/transits/movements/departures?${query}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ statusCode: 400, message });
  });

  it('checks the query before the Accept header, and page > 0 after it, as HMRC does', async () => {
    const badDate = await api.get('/customs/transits/movements/departures?updatedSince=x', {
      headers: { accept: 'text/html' },
    });
    expect(badDate.status).toBe(400);
    const zeroPage = await api.get('/customs/transits/movements/departures?page=0', {
      headers: { accept: 'text/html' },
    });
    expect(zeroPage.status).toBe(406);
  });

  it('filters by updatedSince (inclusive) and receivedUntil (inclusive, to the millisecond shown)', async () => {
    const since = await (
      await api.get('/customs/transits/movements/departures?updatedSince=2026-11-04T10:00:00.123Z')
    ).json();
    expect(ids(since)).toEqual([newest.movementId, middle.movementId]);

    // `middle` is stored at .123456 and shown as .123: a client that pages by what it saw gets it.
    const until = await (
      await api.get('/customs/transits/movements/departures?receivedUntil=2026-11-04T10:00:00.123Z')
    ).json();
    expect(ids(until)).toEqual([
      middle.movementId,
      otherTrader.movementId,
      declaredForA.movementId,
    ]);

    // Offsets are honoured: 11:00+01:00 is 10:00Z. Percent-encoded as HMRC asks…
    const encoded = await (
      await api.get(
        `/customs/transits/movements/departures?updatedSince=${encodeURIComponent('2026-11-04T11:00:00.124+01:00')}`,
      )
    ).json();
    expect(ids(encoded)).toEqual([newest.movementId]);
    // …or with a raw '+', which a query string turns into a space.
    const raw = await api.get(
      '/customs/transits/movements/departures?updatedSince=2026-11-04T11:00:00.124+01:00',
    );
    const rawBody = await raw.json();
    expect(ids(rawBody)).toEqual([newest.movementId]);
    expect(rawBody._links.self.href).toBe(encoded._links.self.href);
    expect(encoded._links.self.href).toBe(
      '/customs/transits/movements/departures?updatedSince=2026-11-04T11%3A00%3A00.124%2B01%3A00',
    );
    // The self link is HMRC's reverse route: the parsed value written back (no trailing zeros,
    // Z for UTC), every parameter in HMRC's order.
    const rewritten = await (
      await api.get(
        '/customs/transits/movements/departures?count=2&receivedUntil=2026-12-01T00:00:00.500%2B00:00&updatedSince=2026-11-04T10:00Z&page=1',
      )
    ).json();
    expect(rewritten._links.self.href).toBe(
      '/customs/transits/movements/departures?updatedSince=2026-11-04T10%3A00%3A00Z&page=1&count=2&receivedUntil=2026-12-01T00%3A00%3A00.5Z',
    );
  });

  it('filters by movementEORI, movementReferenceNumber and localReferenceNumber', async () => {
    const byEori = await (
      await api.get(`/customs/transits/movements/departures?movementEORI=${eoriA}`)
    ).json();
    expect(ids(byEori)).toEqual([newest.movementId, declaredForA.movementId]);
    const lowerCase = await (
      await api.get(`/customs/transits/movements/departures?movementEORI=${eoriA.toLowerCase()}`)
    ).json();
    expect(ids(lowerCase)).toEqual(ids(byEori));
    const byMrn = await (
      await api.get(
        '/customs/transits/movements/departures?movementReferenceNumber=24GB00000000000AA1',
      )
    ).json();
    expect(byMrn.totalCount).toBe(1);
    expect(byMrn.departures).toEqual([newestJson()]);
    const byLrn = await (
      await api.get('/customs/transits/movements/departures?localReferenceNumber=LRN-B')
    ).json();
    expect(ids(byLrn)).toEqual([otherTrader.movementId]);
  });

  it('clamps count above 500 to 500 (echoing what was asked)', async () => {
    const response = await api.get('/customs/transits/movements/departures?count=100000');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body._links.self.href).toBe('/customs/transits/movements/departures?count=100000');
    expect(ids(body)).toHaveLength(4);
  });

  it('shows a scoped key only movements enrolled by or declared for its EORIs', async () => {
    const forA = await (
      await api.get('/customs/transits/movements/departures', { key: keys.a })
    ).json();
    expect(forA.totalCount).toBe(3);
    expect(ids(forA)).toEqual([newest.movementId, middle.movementId, declaredForA.movementId]);
    const forB = await (
      await api.get('/customs/transits/movements/departures', { key: keys.b })
    ).json();
    expect(forB.totalCount).toBe(1);
    expect(ids(forB)).toEqual([otherTrader.movementId]);
  });

  it('requires an API key', async () => {
    const response = (await fetch(
      `${api.baseUrl}/customs/transits/movements/departures`,
    )) as TestResponse;
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe('UNAUTHORIZED');
  });
});

describe('GET /customs/transits/movements/departures/{departureId}', () => {
  it('returns the movement summary', async () => {
    const response = await api.get(departure(newest.movementId));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(newestJson());
  });

  it('serves movements recorded from the v1 API by their integer id under /v1 only', async () => {
    const response = await api.get('/v1/departures/12');
    expect(response.status).toBe(200);
    expect((await response.json()).localReferenceNumber).toBe('LRN-V1');
    const hmrc = await api.get(departure('12'));
    expect(hmrc.status).toBe(400);
  });

  it("keeps ctc-hub's own fields in the /v1 view", async () => {
    const response = await api.get(`/v1/departures/${newest.movementId}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ...newestJson(),
      created: '2026-11-02T08:00:00.000Z',
      updated: '2026-11-05T12:00:00.000Z',
      boxId,
      requestId: departure('aaaaaaaaaaaaaaa1'),
      status: 'released',
    });
    expect((await api.get(`/v1/departures/${newest.movementId}`, { key: keys.b })).status).toBe(
      404,
    );
  });

  it.each([
    [undefined, 'The Accept header is missing.'],
    ['application/json', 'Invalid accept header: application/json'],
    ['*/*', 'Invalid accept header: */*'],
    ['application/vnd.hmrc.2.1+json, */*', 'The Accept header is missing or invalid.'],
    ['application/vnd.hmrc.2.0+json', 'Invalid version provided'],
    ['application/vnd.hmrc.1.0+json', 'Invalid version provided'],
    ['application/vnd.hmrc.2.1+xml', 'The Accept header is missing or invalid.'],
    ['application/vnd.hmrc.3.0+json-xml', 'The Accept header is missing or invalid.'],
  ])("refuses Accept %s with HMRC's 406", async (accept, message) => {
    // node:http, not fetch: fetch sends `Accept: */*` when given none.
    const { status, body } = await new Promise<{ status: number; body: unknown }>(
      (resolve, reject) => {
        const request = httpGet(
          `${api.baseUrl}${departure(newest.movementId)}`,
          {
            headers: {
              authorization: `Bearer ${keys.all}`,
              ...(accept === undefined ? {} : { accept }),
            },
          },
          (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }),
            );
          },
        );
        request.on('error', reject);
      },
    );
    expect(status).toBe(406);
    expect(body).toEqual({ message, code: 'NOT_ACCEPTABLE' });
  });

  it('serves the same movement to 2.1 and 3.0 readers, as HMRC does', async () => {
    for (const accept of ['application/vnd.hmrc.2.1+json', 'application/vnd.hmrc.3.0+JSON']) {
      const response = await api.get(departure(newest.movementId), { headers: { accept } });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(newestJson());
    }
  });

  it('answers 404 in HMRC words for an unknown id, a wrong type, or another trader', async () => {
    const cases: [string, string | undefined, string][] = [
      [
        departure('0123456789abcdef'),
        undefined,
        'Departure movement with ID 0123456789abcdef was not found',
      ],
      [
        departure(arrival.movementId),
        undefined,
        `Departure movement with ID ${arrival.movementId} was not found`,
      ],
      [
        departure(otherTrader.movementId),
        keys.a,
        `Departure movement with ID ${otherTrader.movementId} was not found`,
      ],
      [
        departure(newest.movementId),
        keys.b,
        `Departure movement with ID ${newest.movementId} was not found`,
      ],
    ];
    for (const [path, key, message] of cases) {
      const response = await api.get(path, key === undefined ? {} : { key });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ message, code: 'NOT_FOUND' });
    }
    expect((await api.get(departure(otherTrader.movementId), { key: keys.b })).status).toBe(200);
    expect((await api.get(departure(declaredForA.movementId), { key: keys.a })).status).toBe(200);
  });

  it('rejects a malformed id with 400', async () => {
    const response = await api.get(departure('NOT-AN-ID'));
    expect(response.status).toBe(400);
    // HMRC's route names the parameter movementId for departures and arrivals alike.
    expect(await response.json()).toEqual({
      message: 'movementId: Value NOT-AN-ID is not a 16 character hexadecimal string',
      statusCode: 400,
      code: 'BAD_REQUEST',
    });
  });
});

describe('arrivals', () => {
  const arrivalJson = () => ({
    _links: {
      self: { href: `/customs/transits/movements/arrivals/${arrival.movementId}` },
      messages: { href: `/customs/transits/movements/arrivals/${arrival.movementId}/messages` },
    },
    id: arrival.movementId,
    movementReferenceNumber: '24GB00000000000DD1',
    localReferenceNumber: null,
    created: '2026-11-04T08:00:00Z',
    updated: '2026-11-06T08:00:00Z',
    enrollmentEORINumber: eoriA,
    movementEORINumber: eoriA,
  });

  it('lists arrivals under `arrivals`, localReferenceNumber always null', async () => {
    const response = await api.get('/customs/transits/movements/arrivals');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      _links: { self: { href: '/customs/transits/movements/arrivals' } },
      totalCount: 1,
      arrivals: [arrivalJson()],
    });
    // HMRC filters arrivals by LRN too, and arrivals have none: nothing matches.
    const byLrn = await (
      await api.get('/customs/transits/movements/arrivals?localReferenceNumber=SHOULD-NOT-SHOW')
    ).json();
    expect(byLrn).toEqual({
      _links: {
        self: {
          href: '/customs/transits/movements/arrivals?localReferenceNumber=SHOULD-NOT-SHOW',
        },
      },
      totalCount: 0,
      arrivals: [],
    });
  });

  it('returns one arrival and 404s with the arrival wording', async () => {
    expect(
      await (await api.get(`/customs/transits/movements/arrivals/${arrival.movementId}`)).json(),
    ).toEqual(arrivalJson());
    const missing = await api.get(`/customs/transits/movements/arrivals/${newest.movementId}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      message: `Arrival movement with ID ${newest.movementId} was not found`,
      code: 'NOT_FOUND',
    });
    const badId = await api.get('/customs/transits/movements/arrivals/ABCDEF0123456789');
    expect(await badId.json()).toEqual({
      message: 'movementId: Value ABCDEF0123456789 is not a 16 character hexadecimal string',
      statusCode: 400,
      code: 'BAD_REQUEST',
    });
  });
});
