import { buildIE028, buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { verifySignature } from '@ctc-hub/ppns';
import { startTestSandbox, waitFor, type TestSandbox } from '../test-helpers.js';

// What our receiver gets from "PPNS": the exact envelope and payload bytes, a signature that
// verifies over the raw body, the 80,000-byte inline boundary, retries until 200, and the
// drop / duplicate / reorder / lose faults.

const secret = 'SANDBOXPUSHSECRETDEVONLY00000000';
const boxId = '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e';
let sandbox: TestSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.reset();
  sandbox.controls.configure({
    pushRetryIntervalMs: 50,
    pushRetryWindowMs: 6 * 3600_000,
    boxConfigured: true,
  });
  sandbox.receiver.pushes.length = 0;
  sandbox.receiver.statuses.length = 0;
  sandbox.receiver.defaultStatus = 200;
});

async function injectHttp(
  collection: string,
  movementId: string,
  body: string,
  contentType: string,
  headers: Record<string, string> = {},
) {
  return fetch(
    `${sandbox.url}/test/customs/transits/movements/${collection}/${movementId}/messages`,
    {
      method: 'POST',
      headers: { 'content-type': contentType, ...headers },
      body,
    },
  );
}

describe('injection and push', () => {
  it('creates the movement, answers 201 and pushes a signed MESSAGE_RECEIVED exactly as PPNS does', async () => {
    const movementId = '0123456789abcdef';
    const response = await injectHttp(
      'departures',
      movementId,
      JSON.stringify({ message: { messageType: 'IE028' } }),
      'application/json',
      {
        'x-sandbox-eori': 'GB555566667777',
      },
    );
    expect(response.status).toBe(201);
    const created = (await response.json()) as Record<string, unknown>;
    expect(created).toMatchObject({
      _links: {
        self: {
          href: `/customs/transits/movements/departures/${movementId}/messages/${String(created.messageId)}`,
        },
        departure: { href: `/customs/transits/movements/departures/${movementId}` },
      },
      departureId: movementId,
      messageId: expect.stringMatching(/^[0-9a-f]{16}$/),
      messageType: 'IE028',
    });

    const push = await waitFor(() => sandbox.receiver.pushes[0], 5000, 'the push');
    expect(push.headers['content-type']).toBe('application/json');
    expect(push.headers['x-hub-signature']).toMatch(/^[0-9a-f]{40}$/);
    expect(verifySignature([secret], push.raw, push.headers['x-hub-signature'] as string)).toBe(
      true,
    );
    expect(
      verifySignature(['another secret'], push.raw, push.headers['x-hub-signature'] as string),
    ).toBe(false);
    expect(push.headers.authorization).toBeUndefined();

    // Field order and types on the wire: message is a JSON string, not an object.
    expect(Object.keys(push.envelope)).toEqual([
      'notificationId',
      'boxId',
      'messageContentType',
      'message',
      'status',
      'createdDateTime',
    ]);
    expect(push.envelope).toMatchObject({
      notificationId: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      boxId,
      messageContentType: 'application/json',
      status: 'PENDING',
      createdDateTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/),
    });
    expect(typeof push.envelope.message).toBe('string');
    expect(push.envelope.notificationId).toBe(created.notificationId);

    const movement = sandbox.controls.movement(movementId)!;
    expect(movement.enrollmentEori).toBe('GB555566667777');
    expect(Object.keys(push.payload)).toEqual([
      'messageUri',
      'notificationType',
      'messageId',
      'enrollmentEORINumber',
      'departureId',
      'messageType',
      'messageBody',
    ]);
    expect(push.payload).toMatchObject({
      messageUri: `/customs/transits/movements/departures/${movementId}/messages/${String(created.messageId)}`,
      notificationType: 'MESSAGE_RECEIVED',
      messageId: created.messageId,
      enrollmentEORINumber: 'GB555566667777',
      departureId: movementId,
      messageType: 'IE028',
    });
    // The generated IE028 matches the movement it was injected into.
    const body = String(push.payload.messageBody);
    expect(body).toContain(`<MRN>${movement.mrn}</MRN>`);
    expect(body).toContain(`<LRN>${movement.lrn}</LRN>`);
    expect(body).toContain('<messageRecipient>GB555566667777</messageRecipient>');
  });

  it('stores injected XML byte-for-byte and uses arrivalId for arrivals', async () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      buildIE028()
        .replace('ncts:CC028C', 'ncts:CC028C')
        .replace(/<ncts:CC028C[^>]*>/, (root) => root);
    const arrivalXml = xml.replace(/CC028C/g, 'CC025C');
    const response = await injectHttp(
      'arrivals',
      'fedcba9876543210',
      arrivalXml,
      'application/xml',
    );
    expect(response.status).toBe(201);
    const push = await waitFor(() => sandbox.receiver.pushes[0]);
    expect(push.payload.arrivalId).toBe('fedcba9876543210');
    expect(push.payload.departureId).toBeUndefined();
    expect(push.payload.messageType).toBe('IE025');
    expect(push.payload.messageBody).toBe(arrivalXml);
    expect(
      sandbox.controls
        .movement('fedcba9876543210')!
        .messages[0]!.body!.equals(Buffer.from(arrivalXml)),
    ).toBe(true);
  });

  it('inlines a body of exactly 80,000 bytes and omits one of 80,001', async () => {
    const at = buildMessageOfSize('IE029', 80_000, {}, { exact: true });
    const over = buildMessageOfSize('IE029', 80_001, {}, { exact: true });
    expect(Buffer.byteLength(at)).toBe(80_000);
    expect(Buffer.byteLength(over)).toBe(80_001);
    await injectHttp('departures', 'aaaaaaaaaaaaaaaa', at, 'application/xml');
    await injectHttp('departures', 'bbbbbbbbbbbbbbbb', over, 'application/xml');
    await waitFor(() => sandbox.receiver.pushes.length === 2);
    const byMovement = (id: string) =>
      sandbox.receiver.pushes.find((push) => push.payload.departureId === id)!;
    expect(byMovement('aaaaaaaaaaaaaaaa').payload.messageBody).toBe(at);
    expect('messageBody' in byMovement('bbbbbbbbbbbbbbbb').payload).toBe(false);
    expect(byMovement('bbbbbbbbbbbbbbbb').payload.messageType).toBe('IE029');
  });

  it('generates large messages on request (size) and does not push with ?push=false', async () => {
    const response = await fetch(
      `${sandbox.url}/test/customs/transits/movements/departures/cccccccccccccccc/messages?push=false`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messageType: 'IE029', size: 200_000 }),
      },
    );
    expect(response.status).toBe(201);
    const message = sandbox.controls.movement('cccccccccccccccc')!.messages[0]!;
    expect(message.body!.length).toBeGreaterThanOrEqual(200_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sandbox.receiver.pushes).toHaveLength(0);
  });

  it('refuses bad injections with 400', async () => {
    expect(
      (await injectHttp('departures', 'not-hex', '{"messageType":"IE028"}', 'application/json'))
        .status,
    ).toBe(400);
    expect(
      (
        await injectHttp(
          'departures',
          'dddddddddddddddd',
          '{"messageType":"IE999"}',
          'application/json',
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await injectHttp(
          'arrivals',
          'dddddddddddddddd',
          '{"messageType":"IE028"}',
          'application/json',
        )
      ).status,
    ).toBe(400);
    expect(
      (await injectHttp('departures', 'dddddddddddddddd', '<hello/>', 'application/xml')).status,
    ).toBe(400);
  });

  it('pushes nothing for movements without a box', async () => {
    sandbox.controls.configure({ boxConfigured: false });
    const response = await injectHttp(
      'departures',
      'eeeeeeeeeeeeeeee',
      '{"messageType":"IE028"}',
      'application/json',
    );
    expect(response.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sandbox.receiver.pushes).toHaveLength(0);
  });
});

describe('delivery', () => {
  it('re-pushes the same bytes until the callback answers 200 (204 and 500 do not count)', async () => {
    sandbox.receiver.statuses.push(500, 204, 202);
    sandbox.controls.injectMessage('departure', undefined, { generate: { messageType: 'IE928' } });
    await waitFor(() => sandbox.receiver.pushes.length === 4, 5000, 'four attempts');
    const bodies = sandbox.receiver.pushes.map((push) => push.raw.toString());
    expect(new Set(bodies).size).toBe(1);
    await sandbox.controls.settle();
    expect(sandbox.receiver.pushes).toHaveLength(4);
    expect(sandbox.controls.notifications()[0]).toMatchObject({
      status: 'ACKNOWLEDGED',
      attempts: 4,
    });
    expect(sandbox.controls.stats().pushes).toMatchObject({
      attempts: 4,
      delivered: 1,
      failedAttempts: 3,
    });
  });

  it('marks a notification FAILED after the retry window', async () => {
    sandbox.controls.configure({ pushRetryIntervalMs: 30, pushRetryWindowMs: 200 });
    sandbox.receiver.defaultStatus = 503;
    sandbox.controls.injectMessage('departure', undefined, { generate: { messageType: 'IE928' } });
    await waitFor(() => sandbox.controls.notifications()[0]?.status === 'FAILED', 5000, 'FAILED');
    const attempts = sandbox.receiver.pushes.length;
    expect(attempts).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sandbox.receiver.pushes).toHaveLength(attempts);
    expect(sandbox.controls.stats().pushes.notificationsFailed).toBe(1);
  });

  it('counts a callback that does not answer in time as a failure', async () => {
    sandbox.controls.configure({
      pushTimeoutMs: 100,
      pushRetryWindowMs: 250,
      pushRetryIntervalMs: 60,
    });
    sandbox.receiver.hang = true;
    try {
      sandbox.controls.injectMessage('departure', undefined, {
        generate: { messageType: 'IE928' },
      });
      await waitFor(() => sandbox.controls.notifications()[0]?.status === 'FAILED', 5000, 'FAILED');
      expect(sandbox.receiver.pushes.length).toBeGreaterThanOrEqual(2);
      expect(sandbox.controls.stats().pushes.delivered).toBe(0);
    } finally {
      sandbox.receiver.hang = false;
      sandbox.controls.configure({ pushTimeoutMs: 10_000 });
    }
  });
});

describe('push faults', () => {
  const injectMany = (count: number) => {
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      ids.push(
        sandbox.controls.injectMessage('departure', undefined, {
          generate: { messageType: 'IE928' },
        }).notificationId!,
      );
    }
    return ids;
  };

  it('drops: stored in the box, never pushed', async () => {
    sandbox.controls.setFaults({ push: { dropRate: 1 } });
    const [id] = injectMany(1);
    await sandbox.controls.settle();
    expect(sandbox.receiver.pushes).toHaveLength(0);
    expect(sandbox.controls.notifications()).toMatchObject([
      { notificationId: id, status: 'PENDING' },
    ]);
    expect(sandbox.controls.stats().pushes.dropped).toBe(1);
  });

  it('loses: not even stored, only the message itself exists', async () => {
    sandbox.controls.setFaults({ push: { loseRate: 1 } });
    const result = sandbox.controls.injectMessage('departure', undefined, {
      generate: { messageType: 'IE928' },
    });
    expect(result.notificationId).toBeUndefined();
    await sandbox.controls.settle();
    expect(sandbox.controls.notifications()).toHaveLength(0);
    expect(sandbox.controls.movement(result.movementId)!.messages).toHaveLength(1);
  });

  it('duplicates: the same notification (same bytes) arrives twice', async () => {
    sandbox.controls.setFaults({ push: { duplicateRate: 1, duplicateDelayMs: 10 } });
    const [id] = injectMany(1);
    await waitFor(() => sandbox.receiver.pushes.length === 2);
    await sandbox.controls.settle();
    expect(sandbox.receiver.pushes.map((push) => push.envelope.notificationId)).toEqual([id, id]);
    expect(sandbox.receiver.pushes[0]!.raw.equals(sandbox.receiver.pushes[1]!.raw)).toBe(true);
    expect(sandbox.controls.stats().pushes.duplicated).toBe(1);
  });

  it('reorders: a held-back notification arrives after later ones', async () => {
    sandbox.controls.setFaults({ push: { reorderRate: 1, reorderDelayMs: 150 } });
    const [first] = injectMany(1);
    sandbox.controls.setFaults({});
    const later = injectMany(2);
    await waitFor(() => sandbox.receiver.pushes.length === 3);
    const arrived = sandbox.receiver.pushes.map((push) => push.envelope.notificationId);
    // The two later ones race each other; the held-back one comes last.
    expect(arrived.at(-1)).toBe(first);
    expect(new Set(arrived.slice(0, 2))).toEqual(new Set(later));
  });

  it('with a seed, hits the same notifications every run', async () => {
    const run = async () => {
      sandbox.controls.reset();
      sandbox.receiver.pushes.length = 0;
      sandbox.controls.setFaults({ seed: 42, push: { dropRate: 0.5 } });
      injectMany(20);
      await sandbox.controls.settle();
      return sandbox.controls.notifications().map((notification) => notification.status);
    };
    const first = await run();
    const second = await run();
    expect(first).toEqual(second);
    expect(first.filter((status) => status === 'PENDING').length).toBeGreaterThan(0);
    expect(first.filter((status) => status === 'ACKNOWLEDGED').length).toBeGreaterThan(0);
  });
});

describe('callback validation helper', () => {
  it('passes a receiver that echoes the challenge and fails one that does not', async () => {
    const url = `${sandbox.url}/_sandbox/ppns-callback-validation?url=${encodeURIComponent(sandbox.receiver.url)}`;
    const good = (await (await fetch(url)).json()) as Record<string, unknown>;
    expect(good).toMatchObject({
      valid: true,
      status: 200,
      reason: null,
      httpsWouldBeRequired: true,
    });
    sandbox.receiver.challengeAnswer = () => ({
      status: 200,
      body: JSON.stringify({ challenge: 'something else' }),
    });
    try {
      const bad = (await (await fetch(url)).json()) as Record<string, unknown>;
      expect(bad).toMatchObject({ valid: false, status: 200 });
      sandbox.receiver.challengeAnswer = (challenge) => ({
        status: 201,
        body: JSON.stringify({ challenge }),
      });
      expect(await sandbox.controls.validateCallback(sandbox.receiver.url)).toMatchObject({
        valid: true,
        status: 201,
      });
      sandbox.receiver.challengeAnswer = (challenge) => ({
        status: 500,
        body: JSON.stringify({ challenge }),
      });
      expect(await sandbox.controls.validateCallback(sandbox.receiver.url)).toMatchObject({
        valid: false,
        status: 500,
      });
    } finally {
      sandbox.receiver.challengeAnswer = (challenge) => ({
        status: 200,
        body: JSON.stringify({ challenge }),
      });
    }
    expect((await fetch(`${sandbox.url}/_sandbox/ppns-callback-validation?url=nope`)).status).toBe(
      400,
    );
  });
});
