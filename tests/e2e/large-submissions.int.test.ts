// Risk retired: a declaration over 5 MB failing after HMRC already opened a pending movement,
// because HMRC's upload URL (on its Upscan host, not the API host) was refused, or was sent to
// whatever host the answer named. The sandbox hands out upload URLs on a listener of its own
// under another host name, so the whole route runs through the upload allow-list:
// our api → worker initiates (202 with uploadRequest) → multipart upload to the other host →
// SUBMISSION_NOTIFICATION push → submission settled.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { waitFor } from '@ctc-hub/testing';
import { startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
let trap: Server;
let trapConnections = 0;

beforeAll(async () => {
  e2e = await startE2E();
  // Where a refused upload would go if anything were sent: it must never see a connection.
  trap = createServer((_request, response) => response.writeHead(204).end());
  trap.on('connection', () => (trapConnections += 1));
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', () => resolve()));
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => trap?.close(resolve));
  await e2e?.stop();
});

const controls = () => e2e.stack.sandbox!.controls;
const lrn = () => `LRG${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;

async function postLarge(reference: string): Promise<{ xml: Buffer; submissionId: string }> {
  const xml = Buffer.from(
    buildMessageOfSize('IE015', 5_300_000, { lrn: reference, eori: traderEori }),
  );
  expect(xml.length).toBeGreaterThan(5_000_000);
  const response = await fetch(`${e2e.stack.apiUrl}/v1/departures`, {
    method: 'POST',
    headers: { authorization: `Bearer ${e2e.stack.apiKey}`, 'content-type': 'application/xml' },
    body: xml,
  });
  expect(response.status).toBe(202);
  const body = (await response.json()) as { submissionId: string };
  return { xml, submissionId: body.submissionId };
}

const settled = (id: string) =>
  waitFor(
    async () => {
      const { body } = await e2e.api(`/v1/submissions/${id}`);
      return ['accepted', 'rejected', 'failed'].includes(body.status) ? body : undefined;
    },
    { timeoutMs: 60_000, what: `submission ${id} settled` },
  );

const departuresWithLrn = (reference: string) =>
  controls()
    .movements()
    .filter((movement) => movement.type === 'departure' && movement.lrn === reference);

it('uploads a declaration over 5 MB to HMRC’s upload host and settles it from the SUBMISSION_NOTIFICATION', async () => {
  const { sandbox, hmrcBaseUrl } = e2e.stack;
  // The upload host is not the API host, and only it is allowed.
  expect(new URL(sandbox!.uploadUrl).hostname).not.toBe(new URL(hmrcBaseUrl).hostname);
  expect(e2e.stack.env.HMRC_UPLOAD_HOSTS).toBe(new URL(sandbox!.uploadUrl).host);

  const reference = lrn();
  const { xml, submissionId } = await postLarge(reference);
  const submission = await settled(submissionId);

  expect(submission).toMatchObject({
    status: 'accepted',
    route: 'large',
    sizeBytes: xml.length,
    movementId: expect.stringMatching(/^[0-9a-f]{16}$/),
    messageId: expect.stringMatching(/^[0-9a-f]{16}$/),
  });
  expect(
    submission.attempts.map((attempt: { outcome: string; httpStatus: number }) => [
      attempt.outcome,
      attempt.httpStatus,
    ]),
  ).toEqual([
    ['initiated', 202],
    ['uploaded', 204],
  ]);
  // HMRC's answer replaced the upload form once the SUBMISSION_NOTIFICATION came.
  expect(submission.hmrcResponse).toMatchObject({ code: 'SUCCESS' });

  // At HMRC: one movement, its IE015 processed, byte for byte what we were given.
  const [movement] = departuresWithLrn(reference);
  expect(departuresWithLrn(reference)).toHaveLength(1);
  expect(movement!.id).toBe(submission.movementId);
  const hmrcMessage = movement!.messages.find((message) => message.id === submission.messageId);
  expect(hmrcMessage).toMatchObject({ messageType: 'IE015', status: 'Success' });
  expect(Buffer.compare(hmrcMessage!.body!, xml)).toBe(0);
  // The file went to the upload listener, once.
  expect(controls().stats().api['UPLOAD POST /v1/uploads/{id}']).toEqual({ 204: 1 });
}, 120_000);

it('refuses an upload URL off the allow-list without sending anything, and says which host', async () => {
  const trapOrigin = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  const before = controls().settings().uploadBaseUrl;
  controls().configure({ uploadBaseUrl: trapOrigin });
  try {
    const reference = lrn();
    const { submissionId } = await postLarge(reference);
    const submission = await settled(submissionId);

    const host = new URL(trapOrigin).host;
    expect(submission.status).toBe('failed');
    // HMRC opened the movement (step 1); the upload was refused at once, not retried.
    expect(submission.attempts.map((attempt: { outcome: string }) => attempt.outcome)).toEqual([
      'initiated',
      'upload-refused',
    ]);
    expect(submission.attempts[1].error).toContain(`upload host ${host} is not allowed`);
    // HMRC learns the LRN only from the file, which it never got: the movement stays Pending.
    expect(departuresWithLrn(reference)).toHaveLength(0);
    expect(controls().movement(submission.movementId)?.messages).toEqual([
      expect.objectContaining({ id: submission.messageId, status: 'Pending' }),
    ]);

    const letters = await e2e.api('/v1/dead-letters?kind=submit');
    const letter = letters.body.deadLetters.find(
      (entry: { dedupeKey: string }) => entry.dedupeKey === `submit:${submissionId}`,
    );
    expect(letter).toMatchObject({ status: 'open', errorCode: 'UPLOAD_REFUSED' });
    expect(letter.errorMessage).toContain(`upload host ${host} is not allowed`);
    expect(letter.errorMessage).toContain(e2e.stack.env.HMRC_UPLOAD_HOSTS);
    expect(trapConnections).toBe(0);
  } finally {
    controls().configure({ uploadBaseUrl: before });
  }
}, 120_000);
