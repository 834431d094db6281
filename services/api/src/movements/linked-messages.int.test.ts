// Risk retired: /v1/messages finds messages by the PPNS box and request id they arrived with,
// across movements, newest first, with working links to the HMRC-compatible paths, and without
// showing a scoped key messages of other traders' movements.
import { eoriB, keys, startTestApi, type TestApi } from '../test-support/api.js';
import { example, seedMessage, seedMovement, type SeededMovement } from '../test-support/seed.js';

let api: TestApi;
const boxX = '7b0e7a3e-6a34-4c44-9a57-2f6f8f3d1a10';
const boxY = '7b0e7a3e-6a34-4c44-9a57-2f6f8f3d1a11';
let departureA: SeededMovement; // eoriA, box X
let arrivalB: SeededMovement; // eoriB, box X
let departureY: SeededMovement; // eoriA, box Y

const at = (time: string) => new Date(`2026-11-12T${time}Z`);

beforeAll(async () => {
  api = await startTestApi();
  departureA = await seedMovement(api.db, {
    movementId: 'a0a0a0a0a0a0a0a0',
    boxId: boxX,
    createdAt: at('08:00:00.000'),
  });
  arrivalB = await seedMovement(api.db, {
    movementType: 'arrival',
    movementId: 'b0b0b0b0b0b0b0b0',
    enrollmentEori: eoriB,
    boxId: boxX,
    createdAt: at('08:00:00.000'),
  });
  departureY = await seedMovement(api.db, {
    movementId: 'c0c0c0c0c0c0c0c0',
    boxId: boxY,
    createdAt: at('08:00:00.000'),
  });
  const body = example('cc029c-valid.xml');
  await seedMessage(api.db, departureA, {
    messageId: 'a000000000000001',
    messageType: 'IE028',
    body,
    receivedAt: at('09:00:00.000'),
  });
  await seedMessage(api.db, departureA, {
    messageId: 'a000000000000002',
    messageType: 'IE029',
    body,
    receivedAt: at('11:00:00.000'),
  });
  await seedMessage(api.db, arrivalB, {
    messageId: 'b000000000000001',
    messageType: 'IE043',
    body,
    receivedAt: at('10:00:00.000'),
  });
  await seedMessage(api.db, departureY, {
    messageId: 'c000000000000001',
    messageType: 'IE028',
    body,
    receivedAt: at('12:00:00.000'),
  });
});

afterAll(async () => {
  await api.close();
});

const item = (movement: SeededMovement, messageId: string, type: string, received: string) => ({
  _links: {
    self: { href: `${movement.requestId}/messages/${messageId}` },
    [movement.movementType]: { href: movement.requestId },
  },
  id: messageId,
  [movement.movementType === 'departure' ? 'departureId' : 'arrivalId']: movement.movementId,
  received: `2026-11-12T${received}Z`,
  type,
  status: 'Received',
  boxId: movement.boxId,
  requestId: movement.requestId,
});

const ids = (body: { messages: { id: string }[] }) => body.messages.map((message) => message.id);

it('lists the messages of a box across movements, newest first', async () => {
  const response = await api.get(`/v1/messages?boxId=${boxX}`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({
    _links: { self: { href: `/v1/messages?boxId=${boxX}` } },
    totalCount: 3,
    messages: [
      item(departureA, 'a000000000000002', 'IE029', '11:00:00.000'),
      item(arrivalB, 'b000000000000001', 'IE043', '10:00:00.000'),
      item(departureA, 'a000000000000001', 'IE028', '09:00:00.000'),
    ],
  });
});

it('links to paths that serve the message', async () => {
  const body = await (await api.get(`/v1/messages?boxId=${boxX}&count=1`)).json();
  const message = await api.get(body.messages[0]._links.self.href);
  expect(message.status).toBe(200);
  expect((await message.json()).id).toBe('a000000000000002');
});

it('filters by requestId, messageType, movementType and received time', async () => {
  const byRequest = await (
    await api.get(`/v1/messages?requestId=${encodeURIComponent(departureA.requestId)}`)
  ).json();
  expect(ids(byRequest)).toEqual(['a000000000000002', 'a000000000000001']);
  expect(ids(await (await api.get('/v1/messages?messageType=ie028')).json())).toEqual([
    'c000000000000001',
    'a000000000000001',
  ]);
  expect(
    ids(await (await api.get(`/v1/messages?boxId=${boxX}&movementType=arrival`)).json()),
  ).toEqual(['b000000000000001']);
  const window = await (
    await api.get(
      `/v1/messages?boxId=${boxX}&receivedSince=2026-11-12T10:00:00Z&receivedUntil=2026-11-12T10:00:00Z`,
    )
  ).json();
  expect(ids(window)).toEqual(['b000000000000001']);
  expect(
    ids(
      await (
        await api.get(
          `/v1/messages?boxId=${boxY}&requestId=${encodeURIComponent(departureA.requestId)}`,
        )
      ).json(),
    ),
  ).toEqual([]);
});

it('pages like the HMRC lists', async () => {
  const second = await (await api.get(`/v1/messages?boxId=${boxX}&page=2&count=2`)).json();
  expect(second.totalCount).toBe(3);
  expect(ids(second)).toEqual(['a000000000000001']);
  expect(second._links.self.href).toBe(`/v1/messages?boxId=${boxX}&page=2&count=2`);
  const past = await api.get(`/v1/messages?boxId=${boxX}&page=3&count=2`);
  expect(past.status).toBe(404);
  expect(await past.json()).toEqual({
    code: 'NOT_FOUND',
    message: 'The requested page does not exist',
  });
});

it("hides other traders' messages from a scoped key", async () => {
  expect(ids(await (await api.get(`/v1/messages?boxId=${boxX}`, { key: keys.a })).json())).toEqual([
    'a000000000000002',
    'a000000000000001',
  ]);
  const forB = await (await api.get(`/v1/messages?boxId=${boxX}`, { key: keys.b })).json();
  expect(forB.totalCount).toBe(1);
  expect(ids(forB)).toEqual(['b000000000000001']);
});

it.each([
  ['', 'Give at least one of boxId, requestId, messageType'],
  ['?boxId=not-a-uuid', 'The boxId parameter must be a UUID'],
  ['?messageType=CC028C', 'The messageType parameter must be an IE code such as IE028'],
  [
    `?boxId=${boxX}&movementType=departures`,
    'The movementType parameter must be departure or arrival',
  ],
  [`?boxId=${boxX}&count=x`, 'The count parameter must be a positive number'],
  [
    `?boxId=${boxX}&receivedSince=2026-13-01T00:00:00Z`,
    'Cannot parse parameter receivedSince as a valid ISO 8601 timestamp, e.g. 2015-09-08T01:55:28+00:00',
  ],
])('rejects %p with 400', async (query, message) => {
  const response = await api.get(`/v1/messages${query}`);
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual({ code: 'BAD_REQUEST', message });
});
