// Risk retired: one tenant's key cannot take another trader's HMRC authority. Key B (limited to
// B's EORI) starts a connect flow and has another trader V sign in at HMRC. Whether V's browser
// comes back (refused: not the browser that started it) or B's browser brings back the code V was
// given (accepted, but the token is V's), B never sees V's data, B's declarations never go to HMRC
// with V's token, and the operator sees the mismatched connection (API, metric, audit log) with
// what to do. A connection that HMRC cannot confirm (V has no movement yet) only reads until an
// operator vouches for it.
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { waitFor } from '@ctc-hub/testing';
import { finishConnect, signInAtSandbox, startConnect, type Stack } from '../../scripts/stack.js';
import { reconcileEnv } from '../e2e/reconcile-support.js';
import { startE2E, type E2E } from '../e2e/support.js';

const operatorKey = 'operator-key';
const keyB = 'tenant-b-key';
const keyC = 'tenant-c-key';
const eoriB = 'GB200000000002';
const eoriC = 'GB300000000003';
const keyD = 'tenant-d-key';
const eoriD = 'GB400000000004';
/** Has no movement at HMRC when D's flow is completed by its sign-in. */
const keyX = 'tenant-x-key';
const eoriX = 'GB700000000007';
/** The victims: V has movements at HMRC, W has none yet. */
const eoriV = 'GB900000000009';
const eoriW = 'GB800000000008';

let e2e: E2E;
let victimMovementId: string;

beforeAll(async () => {
  e2e = await startE2E(
    reconcileEnv({
      API_KEYS: `${operatorKey},${keyB}:${eoriB},${keyC}:${eoriC},${keyD}:${eoriD},${keyX}:${eoriX}`,
      SUBMIT_MAX_ATTEMPTS: '3',
      SUBMIT_BACKOFF_BASE_MS: '200',
    }),
  );
  // V's own software declared a departure (another application's box: no push reaches us).
  const injected = controls().injectMessage('departure', undefined, {
    generate: { messageType: 'IE028' },
    eori: eoriV,
    push: false,
  });
  controls().injectMessage('departure', injected.movementId, {
    generate: { messageType: 'IE029' },
    push: false,
  });
  victimMovementId = injected.movementId;
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
});

const controls = () => e2e.stack.sandbox!.controls;
const as = (key: string): Pick<Stack, 'apiUrl' | 'apiKey'> => ({
  apiUrl: e2e.stack.apiUrl,
  apiKey: key,
});

async function call(key: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${e2e.stack.apiUrl}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${key}`,
      // HMRC's read paths answer only HMRC's Accept.
      ...(path.startsWith('/customs/') && { accept: 'application/vnd.hmrc.2.1+json' }),
      ...(init.headers ?? {}),
    },
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

/** Calls the sandbox saw with a token of `eori`'s sign-in, by route. */
const declarationsAtHmrc = (eori: string) =>
  controls()
    .movements()
    .filter((movement) => movement.enrollmentEori === eori && movement.type === 'departure')
    .filter((movement) => movement.messages.some((message) => message.messageType === 'IE015'));

async function declare(key: string, eori: string) {
  return call(key, '/v1/departures', {
    method: 'POST',
    headers: { 'content-type': 'application/xml', 'x-trader-eori': eori },
    body: buildMessage('IE015', { lrn: `LRN${Date.now()}`, eori }),
  });
}

const settledSubmission = (key: string, id: string) =>
  waitFor(
    async () => {
      const { body } = await call(key, `/v1/submissions/${id}`);
      return ['accepted', 'rejected', 'failed'].includes(body.status) ? body : undefined;
    },
    { timeoutMs: 30_000, what: `submission ${id} settled` },
  );

it("refuses the code when the victim's browser comes back: it did not start the flow", async () => {
  const started = await startConnect(as(keyB), eoriB);
  // B sends the authorize link to V, who signs in at HMRC as themselves.
  const back = await signInAtSandbox(started.authorizeUrl, eoriV);
  const inVictimsBrowser = await finishConnect(e2e.stack, back, undefined);
  expect(inVictimsBrowser.status).toBe(403);
  expect(inVictimsBrowser.body).toMatchObject({ code: 'STATE_BROWSER_MISMATCH' });
  // V then passes the URL on to B: the state is spent.
  const inAttackersBrowser = await finishConnect(e2e.stack, back, started.cookie);
  expect(inAttackersBrowser.status).toBe(400);
  expect((await call(operatorKey, `/v1/connections/${eoriB}`)).status).toBe(404);
});

it("a token that HMRC shows to be someone else's is stopped: B sees none of V's data and sends nothing with it", async () => {
  const mismatchesBefore = await mismatchCount();
  // V hands B the callback URL, and B's browser (holding the binding cookie) completes it.
  const started = await startConnect(as(keyB), eoriB);
  const back = await signInAtSandbox(started.authorizeUrl, eoriV);
  const connected = await finishConnect(e2e.stack, back, started.cookie);
  expect(connected.status).toBe(200);

  // The check queued by the connect flow lists V's movement for the token: mismatched.
  const operatorView = await waitFor(
    async () => {
      const { body } = await call(operatorKey, `/v1/connections/${eoriB}`);
      return body.state === 'mismatched' ? body : undefined;
    },
    { timeoutMs: 20_000, what: 'the connection marked mismatched' },
  );
  expect(operatorView).toMatchObject({
    eori: eoriB,
    verification: 'mismatched',
    mayAct: false,
    mismatch: { hmrcEori: eoriV, detail: expect.stringContaining(victimMovementId) },
    fix: expect.stringContaining(`/v1/connections/${eoriB}/resolve`),
  });
  // B is told its connection is stopped, but not whose token it was.
  const tenantView = await call(keyB, `/v1/connections/${eoriB}`);
  expect(tenantView.body).toMatchObject({ state: 'mismatched', mayAct: false });
  expect(JSON.stringify(tenantView.body)).not.toContain(eoriV);

  // Reconciliation keeps running; it never lists or fetches anything with that token again.
  const sweptBefore = controls().stats().api['GET /customs/transits/movements/departures'] ?? {};
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const sweptAfter = controls().stats().api['GET /customs/transits/movements/departures'] ?? {};
  expect(sweptAfter['200'] ?? 0).toBeGreaterThanOrEqual(sweptBefore['200'] ?? 0);
  const stored = await e2e.testDb.db
    .selectFrom('movements')
    .select('movement_id')
    .where('movement_id', '=', victimMovementId)
    .execute();
  expect(stored).toEqual([]);
  const listed = await call(keyB, '/customs/transits/movements/departures');
  expect(listed.status).toBe(200);
  expect(listed.body.departures).toEqual([]);
  expect(
    (await call(keyB, `/customs/transits/movements/departures/${victimMovementId}`)).status,
  ).toBe(404);

  // B's declaration is refused before anything is queued, and never sent with V's token.
  const declarationsBefore = declarationsAtHmrc(eoriV).length;
  const declared = await declare(keyB, eoriB);
  expect(declared.status).toBe(409);
  expect(declared.body).toMatchObject({ code: 'CONNECTION_MISMATCHED', eori: eoriB });
  expect(JSON.stringify(declared.body)).not.toContain(eoriV);
  expect(declarationsAtHmrc(eoriV)).toHaveLength(declarationsBefore);

  // The operator sees it: /ops, metric and audit log.
  const ops = await call(operatorKey, '/ops/data');
  expect(ops.body.connections.attention).toContainEqual(
    expect.objectContaining({ eori: eoriB, verification: 'mismatched', observedEori: eoriV }),
  );
  expect(await mismatchCount()).toBe(mismatchesBefore + 1);
  const audit = await call(operatorKey, '/v1/audit?action=connection.mismatched');
  expect(audit.body.entries).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        outcome: 'quarantined',
        target: expect.objectContaining({ eori: eoriB }),
      }),
    ]),
  );

  // Resolved by the operator: the token is gone; B connects again, signing in as B.
  const resolved = await call(operatorKey, `/v1/connections/${eoriB}/resolve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ quarantined: 'discard' }),
  });
  expect(resolved).toMatchObject({ status: 200, body: { disconnected: true } });
  expect((await call(operatorKey, `/v1/connections/${eoriB}`)).status).toBe(404);
});

it('a connection HMRC cannot confirm only reads until an operator vouches for it', async () => {
  // W has no movement at HMRC: nothing can show whose token it is.
  const started = await startConnect(as(keyC), eoriC);
  const back = await signInAtSandbox(started.authorizeUrl, eoriW);
  expect((await finishConnect(e2e.stack, back, started.cookie)).status).toBe(200);
  await waitFor(
    async () => {
      const { body } = await call(operatorKey, `/v1/connections/${eoriC}`);
      return body.verification === 'unverified' && body.mayAct === false ? body : undefined;
    },
    { timeoutMs: 10_000, what: 'the connection unverified' },
  );

  const declared = await declare(keyC, eoriC);
  expect(declared.status).toBe(409);
  expect(declared.body).toMatchObject({ code: 'CONNECTION_UNVERIFIED', eori: eoriC });
  // Nothing reached HMRC under W's enrolment.
  expect(declarationsAtHmrc(eoriW)).toHaveLength(0);

  // A tenant cannot vouch for itself; an operator can.
  expect((await call(keyC, `/v1/connections/${eoriC}/confirm`, { method: 'POST' })).status).toBe(
    403,
  );
  const confirmed = await call(operatorKey, `/v1/connections/${eoriC}/confirm`, { method: 'POST' });
  expect(confirmed.body).toMatchObject({ vouched: true, mayAct: true });
});

it("when HMRC's notification contradicts a declaration's claim, the movement is quarantined and the connection stopped", async () => {
  // An operator connected D, but W (who has no movement yet) signed in: nothing could show it
  // before the first declaration, which HMRC files under W's enrolment.
  const started = await startConnect(as(operatorKey), eoriD);
  const back = await signInAtSandbox(started.authorizeUrl, eoriX);
  expect((await finishConnect(e2e.stack, back, started.cookie)).status).toBe(200);

  const first = await declare(operatorKey, eoriD);
  expect(first.status).toBe(202);
  const accepted = await settledSubmission(operatorKey, first.body.submissionId);
  expect(accepted.status).toBe('accepted');
  const departureId: string = accepted.movementId;

  // HMRC's notifications for it name X: the movement is quarantined, the connection stopped.
  await waitFor(
    async () => {
      const { body } = await call(operatorKey, `/v1/connections/${eoriD}`);
      return body.state === 'mismatched' ? body : undefined;
    },
    { timeoutMs: 20_000, what: 'the connection marked mismatched by a notification' },
  );
  const row = await e2e.testDb.db
    .selectFrom('movements')
    .select(['enrollment_eori', 'quarantined_at'])
    .where('movement_id', '=', departureId)
    .executeTakeFirstOrThrow();
  expect(row.enrollment_eori).toBe(eoriX);
  expect(row.quarantined_at).not.toBeNull();
  // Hidden from a key limited to D, and to one limited to X, until an operator resolves it.
  for (const key of [keyD, keyX])
    expect((await call(key, `/customs/transits/movements/departures/${departureId}`)).status).toBe(
      404,
    );

  // The next declaration is not sent with X's token.
  const before = declarationsAtHmrc(eoriX).length;
  const second = await declare(operatorKey, eoriD);
  expect(second).toMatchObject({ status: 409, body: { code: 'CONNECTION_MISMATCHED' } });
  expect(declarationsAtHmrc(eoriX)).toHaveLength(before);
});

async function mismatchCount(): Promise<number> {
  const text = await (await fetch(`${e2e.stack.workerUrl}/metrics`)).text();
  const line = text.split('\n').find((row) => row.startsWith('ctc_connection_mismatches_total'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}
