import { startTestSandbox, waitFor, type TestSandbox } from '../test-helpers.js';

// PPNS pull and acknowledge as a client sees them: application tokens and scopes, the exact
// Accept, box checks, filters (inclusive dates), oldest-first order, and statuses that reflect
// what happened to each push.

const boxId = '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e';
const accept = 'application/vnd.hmrc.1.0+json';
let sandbox: TestSandbox;
let appToken: string;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.reset();
  sandbox.receiver.pushes.length = 0;
  sandbox.receiver.defaultStatus = 200;
  appToken = sandbox.controls.issueToken({ kind: 'application' }).access_token;
});

const pull = (query = '', headers: Record<string, string> = {}, box = boxId) =>
  fetch(`${sandbox.url}/misc/push-pull-notification/box/${box}/notifications${query}`, {
    headers: { authorization: `Bearer ${appToken}`, accept, ...headers },
  });

const acknowledge = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${sandbox.url}/misc/push-pull-notification/box/${boxId}/notifications/acknowledge`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${appToken}`,
      accept,
      'content-type': 'application/json',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const inject = (messageType: 'IE928' | 'IE028' = 'IE928') =>
  sandbox.controls.injectMessage('departure', undefined, { generate: { messageType } })
    .notificationId!;

describe('GET …/notifications', () => {
  it('returns every notification oldest first, in the push envelope shape', async () => {
    sandbox.controls.setFaults({ push: { dropRate: 1 } });
    const ids = [inject(), inject(), inject()];
    const response = await pull();
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>[];
    expect(body.map((notification) => notification.notificationId)).toEqual(ids);
    expect(Object.keys(body[0]!)).toEqual([
      'notificationId',
      'boxId',
      'messageContentType',
      'message',
      'status',
      'createdDateTime',
    ]);
    expect(body[0]).toMatchObject({
      boxId,
      messageContentType: 'application/json',
      status: 'PENDING',
    });
    expect(JSON.parse(String(body[0]!.message))).toMatchObject({
      notificationType: 'MESSAGE_RECEIVED',
      messageType: 'IE928',
    });
  });

  it('shows ACKNOWLEDGED after a 200 push and FAILED after the retry window', async () => {
    const delivered = inject();
    await waitFor(() => sandbox.receiver.pushes.length === 1);
    sandbox.controls.configure({ pushRetryIntervalMs: 20, pushRetryWindowMs: 60 });
    sandbox.receiver.defaultStatus = 500;
    const failed = inject();
    await waitFor(
      () =>
        sandbox.controls.notifications().find((n) => n.notificationId === failed)?.status ===
        'FAILED',
    );
    const body = (await (await pull()).json()) as Record<string, unknown>[];
    expect(body.map((notification) => [notification.notificationId, notification.status])).toEqual([
      [delivered, 'ACKNOWLEDGED'],
      [failed, 'FAILED'],
    ]);
    const onlyFailed = (await (await pull('?status=failed')).json()) as Record<string, unknown>[];
    expect(onlyFailed.map((notification) => notification.notificationId)).toEqual([failed]);
  });

  it('filters by inclusive fromDate/toDate and limits with count', async () => {
    sandbox.controls.setFaults({ push: { dropRate: 1 } });
    inject();
    inject();
    inject();
    const all = (await (await pull()).json()) as {
      notificationId: string;
      createdDateTime: string;
    }[];
    // PPNS's own format (…+0000) is accepted, and bounds are inclusive.
    const from = encodeURIComponent(all[1]!.createdDateTime);
    const fromSecond = (await (await pull(`?fromDate=${from}`)).json()) as {
      notificationId: string;
    }[];
    expect(fromSecond.map((notification) => notification.notificationId)).toEqual([
      all[1]!.notificationId,
      all[2]!.notificationId,
    ]);
    const untilSecond = (await (await pull(`?toDate=${from}`)).json()) as {
      notificationId: string;
    }[];
    expect(untilSecond.map((notification) => notification.notificationId)).toEqual([
      all[0]!.notificationId,
      all[1]!.notificationId,
    ]);
    const zoneless = encodeURIComponent(all[1]!.createdDateTime.replace('+0000', ''));
    expect(((await (await pull(`?fromDate=${zoneless}`)).json()) as unknown[]).length).toBe(2);
    expect(
      ((await (await pull('?count=1')).json()) as { notificationId: string }[]).map(
        (n) => n.notificationId,
      ),
    ).toEqual([all[0]!.notificationId]);
  });

  it('caps at 100 by default', async () => {
    sandbox.controls.setFaults({ push: { dropRate: 1 } });
    for (let index = 0; index < 105; index += 1) inject();
    expect(((await (await pull()).json()) as unknown[]).length).toBe(100);
  });

  it.each([
    ['?status=DONE', 400, 'INVALID_REQUEST_PAYLOAD'],
    ['?fromDate=yesterday', 400, 'INVALID_REQUEST_PAYLOAD'],
    ['?count=abc', 400, 'INVALID_REQUEST_PAYLOAD'],
    ['?colour=blue', 400, 'INVALID_REQUEST_PAYLOAD'],
    ['?fromDate=2025-01-02T00:00:00&toDate=2025-01-01T00:00:00', 400, 'BAD_REQUEST'],
    ['?fromDate=2025-01-01T00:00:00&toDate=2025-01-01T00:00:00', 400, 'BAD_REQUEST'],
  ])('answers %s with %d %s', async (query, status, code) => {
    const response = await pull(query);
    expect(response.status).toBe(status);
    expect(((await response.json()) as Record<string, string>).code).toBe(code);
  });

  it('checks Accept exactly, the box id and the token', async () => {
    const wrongAccept = await pull('', { accept: 'application/vnd.hmrc.1.0+xml' });
    expect(wrongAccept.status).toBe(406);
    expect(((await wrongAccept.json()) as Record<string, string>).code).toBe(
      'ACCEPT_HEADER_INVALID',
    );
    const notUuid = await pull('', {}, 'my-box');
    expect(notUuid.status).toBe(400);
    expect(await notUuid.json()).toEqual({ code: 'BAD_REQUEST', message: 'Box ID is not a UUID' });
    const unknown = await pull('', {}, '00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as Record<string, string>).code).toBe('BOX_NOT_FOUND');
    const userToken = sandbox.token();
    expect((await pull('', { authorization: `Bearer ${userToken}` })).status).toBe(401);
    const ackOnly = sandbox.controls.issueToken({
      kind: 'application',
      scopes: ['write:notifications'],
    }).access_token;
    expect((await pull('', { authorization: `Bearer ${ackOnly}` })).status).toBe(401);
  });
});

describe('PUT …/acknowledge', () => {
  it('acknowledges listed notifications with 204 and ignores unknown ids', async () => {
    sandbox.controls.setFaults({ push: { dropRate: 1 } });
    const [first, second] = [inject(), inject()];
    const response = await acknowledge({
      notificationIds: [first, '00000000-0000-4000-8000-000000000000'],
    });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    const statuses = (
      (await (await pull()).json()) as { notificationId: string; status: string }[]
    ).map((n) => [n.notificationId, n.status]);
    expect(statuses).toEqual([
      [first, 'ACKNOWLEDGED'],
      [second, 'PENDING'],
    ]);
    expect(((await (await pull('?status=PENDING')).json()) as unknown[]).length).toBe(1);
  });

  it.each([
    ['an empty list', { notificationIds: [] }],
    [
      'duplicates',
      {
        notificationIds: [
          '00000000-0000-4000-8000-000000000001',
          '00000000-0000-4000-8000-000000000001',
        ],
      },
    ],
    [
      'more than 100',
      {
        notificationIds: Array.from(
          { length: 101 },
          (_, index) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
        ),
      },
    ],
    ['a non-UUID', { notificationIds: ['abc'] }],
    ['no list', {}],
    ['invalid JSON', '{"notificationIds": ['],
  ])('answers 400 INVALID_REQUEST_PAYLOAD to %s', async (_label, body) => {
    const response = await acknowledge(body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as Record<string, string>).code).toBe(
      'INVALID_REQUEST_PAYLOAD',
    );
  });

  it('answers 415 to a body that is not JSON, and 401 without write:notifications', async () => {
    const response = await acknowledge('notificationIds=1', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({
      code: 'BAD_REQUEST',
      message: 'Expecting text/json or application/json body',
    });
    const readOnly = sandbox.controls.issueToken({
      kind: 'application',
      scopes: ['read:pull-notifications'],
    }).access_token;
    expect(
      (await acknowledge({ notificationIds: [inject()] }, { authorization: `Bearer ${readOnly}` }))
        .status,
    ).toBe(401);
  });
});
