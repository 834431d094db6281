import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadSandboxConfig, startSandbox, type SandboxHandle } from '@ctc-hub/hmrc-sandbox';
import { parseNctsMessage } from '@ctc-hub/ncts';
import { buildCC007A, buildCC015B, buildCC044A, type Phase4Params } from '@ctc-hub/ncts-testkit';
import {
  parseCtcPayload,
  parseEnvelope,
  verifySignature,
  type V1MessageNotification,
} from '@ctc-hub/ppns';
import { createLogger } from '@ctc-hub/telemetry';
import { Agent } from 'undici';
import { CtcClient } from './ctc-client.js';
import { OAuthClient } from './oauth-client.js';

// The whole v1 (phase 4) path against the HMRC sandbox, as the hub will use it: submit with the
// client, read box and requestId from the 202, receive signed v1 pushes on a local callback,
// link them to the submission by box and requestId, fetch bodies and list for reconciliation,
// and resubmit a rejected arrival with PUT.

const pushSecret = 'V1TESTPUSHSECRET0000000000000000';
const boxId = '0c6e1a52-3c1e-4f43-9a3b-6f3c2a0d9e11';
const clientId = 'v1-test-client';
const clientSecret = 'v1-test-secret';
const eori = 'GB123456789000';

interface Received {
  verified: boolean;
  boxId: string;
  payload: V1MessageNotification;
}

/** A tiny PPNS callback: answers 200, verifies the signature over the raw bytes, parses. */
class Receiver {
  readonly received: Received[] = [];
  readonly problems: string[] = [];
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        const signature = request.headers['x-hub-signature'];
        const verified = verifySignature(
          [pushSecret],
          raw,
          typeof signature === 'string' ? signature : undefined,
        );
        const envelope = parseEnvelope(raw);
        if (!envelope.ok) this.problems.push(envelope.error.message);
        else {
          const payload = parseCtcPayload(envelope.envelope.message);
          if (!payload.ok) this.problems.push(payload.error.message);
          else if (payload.payload.version !== 'v1') this.problems.push('not a v1 payload');
          else
            this.received.push({
              verified,
              boxId: envelope.envelope.boxId,
              payload: payload.payload,
            });
        }
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/ppns/callback`;
    return this;
  }

  of(movementType: 'departure' | 'arrival', movementId: string): V1MessageNotification[] {
    return this.received
      .map((item) => item.payload)
      .filter(
        (payload) => payload.movementType === movementType && payload.movementId === movementId,
      )
      .sort((a, b) => Number(a.messageId) - Number(b.messageId));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}

async function waitFor<T>(check: () => T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const dispatcher = new Agent({ keepAliveTimeout: 10 });
let receiver: Receiver;
let sandbox: SandboxHandle;
let client: CtcClient;
let token: string;
let appToken: string;

beforeAll(async () => {
  receiver = await new Receiver().start();
  sandbox = await startSandbox(
    loadSandboxConfig({
      SANDBOX_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      SANDBOX_CALLBACK_URL: receiver.url,
      SANDBOX_PUSH_SECRET: pushSecret,
      SANDBOX_BOX_ID: boxId,
      SANDBOX_CLIENT_ID: clientId,
      SANDBOX_CLIENT_SECRET: clientSecret,
      SANDBOX_RATE_LIMIT_PER_SECOND: '1000',
      SANDBOX_NCTS_STEP_MS: '5',
      LOG_LEVEL: 'silent',
    }),
    { skipTelemetry: true, logger: createLogger({ service: 'v1-sandbox-test', level: 'silent' }) },
  );
  client = new CtcClient({ baseUrl: sandbox.url, apiVersion: '1.0', timeoutMs: 5000, dispatcher });
  token = sandbox.controls.issueToken({ eori }).access_token;
  // The application token through the sandbox's OAuth endpoint, as the hub would get it.
  const oauth = new OAuthClient({
    apiBaseUrl: sandbox.url,
    clientId,
    clientSecret,
    redirectUri: 'https://hub.example/oauth/callback',
    timeoutMs: 5000,
    dispatcher,
  });
  const granted = await oauth.clientCredentials(['common-transit-convention-traders']);
  if (!granted.ok) throw new Error(JSON.stringify(granted.error));
  appToken = granted.tokens.accessToken;
});
afterAll(async () => {
  await sandbox.stop();
  await receiver.stop();
  await dispatcher.close();
});
afterEach(() => expect(receiver.problems).toEqual([]));

const departureParams: Phase4Params = { lrn: 'V1-CLIENT-1', eori };

describe('CTC API 1.0 through CtcClient against the sandbox', () => {
  it('links a CC015B to its pushes by box and requestId, and fetches what they announce', async () => {
    const box = await client.getBox(appToken);
    expect(box).toEqual({
      ok: true,
      box: { boxId, boxName: 'customs/transits##1.0##notificationUrl' },
    });

    const submitted = await client.submitMessage({
      type: 'departure',
      xml: buildCC015B(departureParams),
      token,
    });
    if (!submitted.ok) throw new Error(JSON.stringify(submitted.error));
    const { accepted } = submitted;
    expect(accepted).toEqual({
      movementType: 'departure',
      movementId: expect.stringMatching(/^[0-9]+$/),
      boxId,
      requestId: `/customs/transits/movements/departures/${accepted.movementId}`,
      boxName: 'customs/transits##1.0##notificationUrl',
    });

    const pushed = await waitFor(() => {
      const found = receiver.of('departure', accepted.movementId);
      return found.length === 2 ? found : undefined;
    }, 'CC028A and CC029B');
    expect(pushed.map((payload) => payload.messageType)).toEqual(['IE028', 'IE029']);
    for (const payload of pushed) {
      expect(payload).toMatchObject({
        version: 'v1',
        movementType: 'departure',
        movementId: accepted.movementId,
        requestId: accepted.requestId,
        eori,
        received: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/),
      });
    }
    const departurePushes = receiver.received.filter(
      (item) => item.payload.movementId === accepted.movementId,
    );
    expect(departurePushes.every((item) => item.verified && item.boxId === accepted.boxId)).toBe(
      true,
    );

    // The body the push inlined is the one the fetch path returns (v1: the message's body field).
    const ie028 = pushed[0]!;
    const body = await client.fetchMessageBody({
      messageUri: ie028.messageUri,
      token,
      maxBytes: 1_000_000,
    });
    if (!body.ok) throw new Error(JSON.stringify(body.error));
    expect(body.body.toString('utf8')).toBe(ie028.messageBody);
    const parsed = parseNctsMessage(body.body);
    expect(parsed.ok && parsed.summary).toMatchObject({
      rootElement: 'CC028A',
      lrn: 'V1-CLIENT-1',
    });
    const mrn = parsed.ok ? parsed.summary.mrn : null;
    expect(mrn).toMatch(/^\d{2}GB[A-Z0-9]{13}\d$/);

    // Reconciliation: the movement in the list (MRN known by now) and all its messages.
    const movements = await client.listMovements({
      type: 'departure',
      token,
      updatedSince: new Date(Date.now() - 60_000),
    });
    if (!movements.ok) throw new Error(JSON.stringify(movements.error));
    expect(movements.list.movements).toContainEqual(
      expect.objectContaining({ id: accepted.movementId, movementReferenceNumber: mrn }),
    );
    const messages = await client.listMessages('departure', accepted.movementId, {}, token);
    if (!messages.ok) throw new Error(JSON.stringify(messages.error));
    expect(messages.list.messages.map((message) => [message.id, message.type])).toEqual([
      ['1', 'IE015'],
      ['2', 'IE028'],
      ['3', 'IE029'],
    ]);
    const message = await client.getMessage({ messageUri: pushed[1]!.messageUri, token });
    expect(message.ok && message.message).toMatchObject({ id: '3', type: 'IE029' });
    const movement = await client.getMovement('departure', accepted.movementId, token);
    expect(movement.ok && movement.movement).toMatchObject({
      id: accepted.movementId,
      movementReferenceNumber: mrn,
    });
  });

  it('resubmits a rejected arrival with PUT, and the same movement goes on', async () => {
    const first = await client.submitMessage({
      type: 'arrival',
      xml: buildCC007A({ mrn: '21GBREJ00000000017', eori }),
      token,
    });
    if (!first.ok) throw new Error(JSON.stringify(first.error));
    const { movementId, requestId } = first.accepted;
    expect(requestId).toBe(`/customs/transits/movements/arrivals/${movementId}`);
    const rejection = await waitFor(
      () => receiver.of('arrival', movementId).find((payload) => payload.messageType === 'IE008'),
      'CC008A',
    );
    expect(rejection).toMatchObject({ requestId, messageBody: expect.stringMatching(/^<CC008A>/) });

    const mrn = '21GB0000000000001X';
    const resubmitted = await client.resubmitArrival({
      arrivalId: movementId,
      xml: buildCC007A({ mrn, eori }),
      token,
    });
    expect(resubmitted).toEqual({
      ok: true,
      accepted: {
        movementType: 'arrival',
        movementId,
        boxId,
        requestId,
        boxName: 'customs/transits##1.0##notificationUrl',
      },
    });
    await waitFor(
      () => receiver.of('arrival', movementId).some((payload) => payload.messageType === 'IE043'),
      'CC043A',
    );

    const remarks = await client.submitMessage({
      type: 'arrival',
      movementId,
      xml: buildCC044A({ mrn, eori }),
      token,
    });
    expect(remarks).toEqual({
      ok: true,
      accepted: { movementType: 'arrival', movementId, messageId: '5', requestId },
    });
    await waitFor(
      () => receiver.of('arrival', movementId).some((payload) => payload.messageType === 'IE025'),
      'CC025A',
    );
    expect(receiver.of('arrival', movementId).map((payload) => payload.messageType)).toEqual([
      'IE008',
      'IE043',
      'IE025',
    ]);
    expect(
      receiver.of('arrival', movementId).every((payload) => payload.requestId === requestId),
    ).toBe(true);
    const movement = await client.getMovement('arrival', movementId, token);
    expect(movement.ok && movement.movement.movementReferenceNumber).toBe(mrn);
  });

  it('keeps the integer id spaces apart: departure and arrival can share an id', async () => {
    const departure = await client.submitMessage({
      type: 'departure',
      xml: buildCC015B(departureParams),
      token,
    });
    const arrival = await client.submitMessage({
      type: 'arrival',
      xml: buildCC007A({ eori }),
      token,
    });
    if (!departure.ok || !arrival.ok) throw new Error('submission failed');
    // As many of each were created in this file by now: the counters are per movement type.
    expect(departure.accepted.movementId).toBe(arrival.accepted.movementId);
    await sandbox.controls.settle();
  });

  it('reports HMRC’s v1 errors as client errors', async () => {
    const wrongRoot = await client.submitMessage({ type: 'arrival', xml: buildCC015B(), token });
    expect(wrongRoot).toMatchObject({
      ok: false,
      error: { kind: 'client-error', status: 400, message: expect.stringMatching(/CC007A/) },
    });
    const unknown = await client.resubmitArrival({ arrivalId: '999', xml: buildCC007A(), token });
    expect(unknown).toMatchObject({
      ok: false,
      error: { kind: 'client-error', status: 404, code: 'CLIENT_ERROR' },
    });
  });
});
