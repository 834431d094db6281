// Risk retired: software written for HMRC's CTC Traders API, pointed at ctc-hub with an API key
// as its bearer token, gets HMRC's own answers to its writes (issue 12 §1): HMRC's 202 (ids,
// links, box) and HMRC's refusals passed through as HMRC sent them, our own refusals in HMRC's
// codes and shapes before anything is queued, 504 when HMRC is slow and the outcome (never a
// second declaration) when the same request comes again, and an API key acting only for the
// EORIs it is scoped to, as a token acts only for its enrolment.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fixturePath, validateHmrcResponse } from '@ctc-hub/testing';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { waitFor } from '@ctc-hub/testing';
import { connectEori } from '../../scripts/stack.js';
// The sandbox's stand-in for HMRC's converter writes the JSON form a trader's software sends.
import { xmlToJson } from '../../services/hmrc-sandbox/src/xml/json.js';
import { startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
const otherEori = 'GB222222222222';
const unconnectedEori = 'GB333333333333';
const keyA = 'key-trader-a';
const keyB = 'key-trader-b';
const keyAC = 'key-traders-a-and-c';
const waitMs = 6_000;

beforeAll(async () => {
  e2e = await startE2E({
    API_KEYS: `dev-api-key,${keyA}:${traderEori},${keyB}:${otherEori},${keyAC}:${traderEori}|${unconnectedEori}`,
    HMRC_COMPAT_WAIT_MS: String(waitMs),
    HMRC_REQUEST_TIMEOUT_MS: '20000',
  });
  await connectEori(e2e.stack, otherEori);
}, 90_000);
afterAll(async () => {
  await e2e?.stop();
});
afterEach(() => {
  e2e.stack.sandbox!.controls.clearFaults();
});

const v21 = 'application/vnd.hmrc.2.1+json';
const v30 = 'application/vnd.hmrc.3.0+json';
const base = '/customs/transits/movements';
const lrn = () => `LRN${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;
// A PhaseID only phase 6 knows (as services/api/src/submissions/api-versions.test.ts).
// Phase 6's IE007 has no incidentFlag.
const phase6 = (xml: string) =>
  xml
    .replace('PhaseID="NCTS5.0"', 'PhaseID="NCTS6"')
    .replace(/<incidentFlag>[^<]*<\/incidentFlag>\s*/, '');

interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function post(
  path: string,
  body: string | undefined,
  options: { accept?: string | null; contentType?: string | null; key?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.key ?? keyA}`,
  };
  const accept = options.accept === undefined ? v21 : options.accept;
  if (accept !== null) headers.accept = accept;
  const contentType = options.contentType === undefined ? 'application/xml' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const response = await fetch(`${e2e.stack.apiUrl}${base}${path}`, {
    method: 'POST',
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the assertion to show
  }
  // Issue 12: every answer is one HMRC's OAS admits (with HMRC's code's listed deviations).
  const problems = validateHmrcResponse({
    version: accept === v30 ? '3.0' : '2.1',
    method: 'POST',
    path: `${base}${path}`,
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: parsed,
  });
  if (problems.length > 0)
    throw new Error(`POST ${path} answered outside HMRC's OAS: ${problems.join('; ')}`);
  return { status: response.status, body: parsed, text, headers: response.headers };
}

/**
 * As a client of this route must: the same request again while the answer is 504 (HMRC slower
 * than the bound, e.g. the machine is busy). Never a second declaration: the test checks that.
 */
async function declared(...args: Parameters<typeof post>): Promise<Answer> {
  for (let attempt = 0; ; attempt += 1) {
    const answer = await post(...args);
    if (answer.status !== 504 || attempt === 5) return answer;
  }
}

const atHmrc = (type: 'departure' | 'arrival') =>
  e2e.stack.sandbox!.controls.movements().filter((movement) => movement.type === type);
const departuresWithLrn = (reference: string) =>
  atHmrc('departure').filter((movement) => movement.lrn === reference);
const submissionsWithLrn = (reference: string) =>
  e2e.testDb.db.selectFrom('submissions').selectAll().where('lrn', '=', reference).execute();

const declaration = (reference: string, eori = traderEori) =>
  buildMessage('IE015', { lrn: reference, eori });

/** HMRC's 202 to a new movement (HateoasNewMovementResponse), for the sandbox's ids. */
function newMovementAnswer(type: 'departure' | 'arrival', movementId: string, messageId: string) {
  const path = `${base}/${type}s/${movementId}`;
  return {
    _links: {
      self: { href: path },
      messages: { href: `${path}/messages` },
      message: { href: `${path}/messages/${messageId}` },
    },
    [`${type}Id`]: movementId,
    messageId,
    boxId: expect.any(String),
  };
}

describe('HMRC 202 passed through', () => {
  it.each([
    ['2.1', v21, (xml: string) => xml],
    ['3.0', v30, phase6],
  ])('declares a departure on API %s with HMRC’s own answer', async (_version, accept, shape) => {
    const reference = lrn();
    const answer = await declared('/departures', shape(declaration(reference)), { accept });
    expect(answer.status).toBe(202);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    const [movement] = departuresWithLrn(reference);
    expect(movement).toBeDefined();
    expect(answer.body).toEqual(
      newMovementAnswer('departure', movement!.id, answer.body.messageId as string),
    );
    // HMRC's bytes, as the worker received them.
    const [row] = await submissionsWithLrn(reference);
    expect(row).toMatchObject({ status: 'accepted', api_version: _version });
    expect(row!.hmrc_reply).toMatchObject({ status: 202, body: answer.text });
    expect(departuresWithLrn(reference)).toHaveLength(1);
  });

  it.each([
    ['2.1', v21, (xml: string) => xml],
    ['3.0', v30, phase6],
  ])('notifies an arrival on API %s, then an unloading remark', async (_version, accept, shape) => {
    const before = new Set(atHmrc('arrival').map((movement) => movement.id));
    const answer = await declared(
      '/arrivals',
      shape(buildMessage('IE007', { mrn: undefined, eori: traderEori })),
      { accept },
    );
    expect(answer.status).toBe(202);
    const created = atHmrc('arrival').filter((movement) => !before.has(movement.id));
    expect(created).toHaveLength(1);
    expect(answer.body).toEqual(
      newMovementAnswer('arrival', created[0]!.id, answer.body.messageId as string),
    );
    const arrivalId = created[0]!.id;
    const remarks = await declared(
      `/arrivals/${arrivalId}/messages`,
      shape(buildMessage('IE044', { eori: traderEori })),
      { accept },
    );
    expect(remarks.status).toBe(202);
    expect(remarks.body).toEqual({
      _links: {
        self: { href: `${base}/arrivals/${arrivalId}/messages/${remarks.body.messageId}` },
        arrival: { href: `${base}/arrivals/${arrivalId}` },
      },
      arrivalId,
      messageId: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  it('sends a follow-up to a departure and answers as HMRC does', async () => {
    const reference = lrn();
    const created = await declared('/departures', declaration(reference));
    expect(created.status).toBe(202);
    const departureId = created.body.departureId as string;
    const invalidation = await declared(
      `/departures/${departureId}/messages`,
      buildMessage('IE014', { lrn: reference, eori: traderEori }),
    );
    expect(invalidation.status).toBe(202);
    expect(invalidation.body).toEqual({
      _links: {
        self: { href: `${base}/departures/${departureId}/messages/${invalidation.body.messageId}` },
        departure: { href: `${base}/departures/${departureId}` },
      },
      departureId,
      messageId: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });
});

describe('JSON bodies, as HMRC takes them', () => {
  it('converts HMRC’s JSON form of a declaration to XML, validates it and sends it', async () => {
    const reference = lrn();
    const json = JSON.stringify(xmlToJson(declaration(reference)));
    const answer = await declared('/departures', json, { contentType: 'application/json' });
    expect(answer.status).toBe(202);
    const [movement] = departuresWithLrn(reference);
    expect(answer.body.departureId).toBe(movement!.id);
    const [row] = await submissionsWithLrn(reference);
    expect(row!.body.toString('utf8')).toMatch(/^<\?xml[^>]*>\n<ncts:CC015C PhaseID="NCTS5.0"/);
  });

  it('answers HMRC’s 400 for JSON it cannot read or that fails the schema', async () => {
    const unreadable = await post('/departures', '{"n1:CC015C": ', {
      contentType: 'application/json',
    });
    expect(unreadable).toMatchObject({
      status: 400,
      body: { code: 'BAD_REQUEST', message: 'Input was malformed' },
    });
    const incomplete = xmlToJson(declaration(lrn()));
    delete (incomplete['n1:CC015C'] as Record<string, unknown>).messageSender;
    const schema = await post('/departures', JSON.stringify(incomplete), {
      contentType: 'application/json',
    });
    expect(schema).toMatchObject({ status: 400, body: { code: 'SCHEMA_VALIDATION' } });
  });
});

describe('HMRC refusals passed through', () => {
  it('answers HMRC’s 409 for a reused LRN, as HMRC sent it', async () => {
    const reference = lrn();
    expect((await declared('/departures', declaration(reference))).status).toBe(202);
    // Another declaration (new message identifier) with the same LRN: valid to us, refused by HMRC.
    const again = await declared('/departures', declaration(reference));
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      code: 'CONFLICT',
      message: `LRN ${reference} has previously been used and cannot be reused`,
    });
    const rows = await submissionsWithLrn(reference);
    expect(rows.map((row) => row.status).sort()).toEqual(['accepted', 'rejected']);
    expect(departuresWithLrn(reference)).toHaveLength(1);
  });

  it('answers HMRC’s 404 for a follow-up on a movement HMRC does not have', async () => {
    const answer = await declared(
      '/departures/00000000000000ff/messages',
      buildMessage('IE014', { lrn: lrn(), eori: traderEori }),
    );
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('our own refusals, in HMRC’s codes and shapes, before anything is queued', () => {
  it.each([
    ['*/*', 'Invalid accept header: */*'],
    ['application/vnd.hmrc.2.0+json', 'Invalid version provided'],
    ['application/vnd.hmrc.1.0+json', 'Invalid version provided'],
    ['application/vnd.hmrc.2.1+xml', 'The Accept header is missing or invalid.'],
    ['application/vnd.hmrc.2.1+yaml', 'The Accept header is missing or invalid.'],
    ['application/json', 'Invalid accept header: application/json'],
  ])('406 for Accept %s', async (accept, message) => {
    const reference = lrn();
    const answer = await post('/departures', declaration(reference), { accept });
    expect(answer).toMatchObject({ status: 406, body: { code: 'NOT_ACCEPTABLE', message } });
    expect(await submissionsWithLrn(reference)).toHaveLength(0);
  });

  it('406 without an Accept header', async () => {
    // fetch always sends one; HMRC's text for none at all.
    const body = declaration(lrn());
    const answer = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const request = httpRequest(
        `${e2e.stack.apiUrl}${base}/departures`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${keyA}`,
            'content-type': 'application/xml',
            'content-length': Buffer.byteLength(body),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            }),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
    expect(answer).toEqual({
      status: 406,
      body: { code: 'NOT_ACCEPTABLE', message: 'The Accept header is missing.' },
    });
  });

  it('415 for a Content-Type HMRC does not route to XML', async () => {
    const reference = lrn();
    const textXml = await post('/departures', declaration(reference), { contentType: 'text/xml' });
    expect(textXml).toMatchObject({
      status: 415,
      body: {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Content-type header text/xml is not supported!',
      },
    });
    const jsonWithCharset = await post('/departures', '{}', {
      contentType: 'application/json; charset=utf-8',
    });
    expect(jsonWithCharset).toMatchObject({
      status: 415,
      body: {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Content-type header application/json; charset=utf-8 is not supported!',
      },
    });
    expect(await submissionsWithLrn(reference)).toHaveLength(0);
  });

  it('400 for input HMRC would refuse: malformed, schema, wrong message, wrong phase', async () => {
    const moviesBefore = atHmrc('departure').length;
    const malformed = await post(
      '/departures',
      '<ncts:CC015C xmlns:ncts="http://ncts.dgtaxud.ec">',
    );
    expect(malformed).toMatchObject({
      status: 400,
      body: { code: 'BAD_REQUEST', message: 'Input was malformed' },
    });

    const schema = await post(
      '/departures',
      declaration(lrn()).replace(/<messageSender>[^<]*<\/messageSender>/, ''),
    );
    expect(schema.status).toBe(400);
    expect(schema.body).toMatchObject({
      code: 'SCHEMA_VALIDATION',
      message: 'Request failed schema validation',
    });
    expect(schema.body.validationErrors[0]).toEqual({
      lineNumber: expect.any(Number),
      columnNumber: expect.any(Number),
      message: expect.any(String),
    });

    const wrongMessage = await post('/departures', buildMessage('IE007', { eori: traderEori }));
    expect(wrongMessage).toMatchObject({
      status: 400,
      body: { code: 'BAD_REQUEST', message: 'IE007 is not a valid message type' },
    });

    // HMRC's phase 5 example on API 3.0: phase 6 requires a Commodity child it lacks.
    const wrongPhase = await post(
      '/departures',
      readFileSync(fixturePath('ncts/examples/phase5/cc015c-valid.xml'), 'utf8'),
      { accept: v30 },
    );
    expect(wrongPhase).toMatchObject({ status: 400, body: { code: 'SCHEMA_VALIDATION' } });
    expect(atHmrc('departure')).toHaveLength(moviesBefore);
  });

  it('413 past HMRC’s small-message limit', async () => {
    const answer = await post('/departures', 'x'.repeat(5_000_001));
    expect(answer).toMatchObject({
      status: 413,
      body: { code: 'REQUEST_ENTITY_TOO_LARGE', message: 'Request Entity Too Large' },
    });
  });
});

describe('HMRC’s large-message route', () => {
  const form = (fields: Record<string, string>, file: string) => {
    const data = new FormData();
    for (const [name, value] of Object.entries(fields)) data.append(name, value);
    data.append('file', new Blob([file], { type: 'application/xml' }), 'declaration.xml');
    return data;
  };
  const upload = (href: string, data: FormData) => fetch(href, { method: 'POST', body: data });

  it('opens the movement at HMRC, takes the file on the hub’s form, checks it, sends it once', async () => {
    const opened = await declared('/departures', undefined, { contentType: null });
    expect(opened.status).toBe(202);
    const submissionId = opened.headers.get('x-ctc-hub-submission-id')!;
    const departureId = opened.body.departureId as string;
    const path = `${base}/departures/${departureId}`;
    expect(opened.body).toEqual({
      _links: {
        self: { href: path },
        messages: { href: `${path}/messages` },
        message: { href: `${path}/messages/${opened.body.messageId}` },
      },
      departureId,
      messageId: expect.stringMatching(/^[0-9a-f]{16}$/),
      boxId: expect.any(String),
      uploadRequest: {
        href: `${e2e.stack.apiUrl}/uploads/${submissionId}`,
        fields: { uploadToken: expect.any(String) },
      },
    });
    const { href, fields } = opened.body.uploadRequest as {
      href: string;
      fields: Record<string, string>;
    };
    const atHmrc = () =>
      e2e.stack.sandbox!.controls.movements().find((movement) => movement.id === departureId);
    expect(atHmrc()).toBeDefined();

    const reference = lrn();
    const xml = declaration(reference);
    // The form is its own credential.
    expect((await upload(href, form({ uploadToken: 'forged' }, xml))).status).toBe(403);
    // A file HMRC would refuse: refused at once, the form stays open.
    const invalid = await upload(href, form(fields, buildMessage('IE007', { eori: traderEori })));
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'IE007 is not a valid message type',
    });

    expect((await upload(href, form(fields, xml))).status).toBe(204);
    expect((await upload(href, form(fields, xml))).status).toBe(409);
    const done = await waitFor(
      async () => {
        const { body } = await e2e.api(`/v1/submissions/${submissionId}`);
        return ['accepted', 'rejected', 'failed'].includes(body.status) ? body : undefined;
      },
      { timeoutMs: 30_000, what: 'the large-message submission settled' },
    );
    expect(done).toMatchObject({ status: 'accepted', movementId: departureId });
    expect(departuresWithLrn(reference).map((movement) => movement.id)).toEqual([departureId]);
  }, 60_000);

  it('needs a key for one EORI when there is no message to name the trader', async () => {
    const answer = await post('/departures', undefined, { contentType: null, key: keyAC });
    expect(answer).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN', message: "Current user doesn't have a valid EORI enrolment." },
    });
  });
});

describe('a slow HMRC', () => {
  it('answers 504 past the bound, then the outcome to the same request, declared once', async () => {
    e2e.stack.sandbox!.controls.setFaults({
      api: { paths: '^/customs/transits/movements/departures$', latencyMs: waitMs + 3_000 },
    });
    const reference = lrn();
    const body = declaration(reference);
    const started = Date.now();
    const first = await post('/departures', body);
    expect(first.status).toBe(504);
    expect(first.body).toMatchObject({ code: 'GATEWAY_TIMEOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(waitMs - 100);
    e2e.stack.sandbox!.controls.clearFaults();

    // Repeated until HMRC's answer is in: each repeat finds the same submission.
    const outcome = await waitFor(
      async () => {
        const again = await post('/departures', body);
        return again.status === 202 ? again : undefined;
      },
      { timeoutMs: 30_000, what: 'HMRC’s answer to the repeated request' },
    );
    const movements = departuresWithLrn(reference);
    expect(movements).toHaveLength(1);
    expect(outcome.body.departureId).toBe(movements[0]!.id);
    const rows = await submissionsWithLrn(reference);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.attempt_count).toBe(1);
  }, 60_000);
});

describe('a repeat built afresh', () => {
  it('finds the first request by trader, LRN and message identification: its outcome, sent once', async () => {
    e2e.stack.sandbox!.controls.setFaults({
      api: { paths: '^/customs/transits/movements/departures$', latencyMs: waitMs + 3_000 },
    });
    const reference = lrn();
    const messageIdentification = `MI${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`;
    const build = (preparationDateAndTime: string) =>
      buildMessage('IE015', {
        lrn: reference,
        eori: traderEori,
        messageIdentification,
        preparationDateAndTime,
      });
    const first = await post('/departures', build('2026-12-06T10:00:00'));
    expect(first.status).toBe(504);
    e2e.stack.sandbox!.controls.clearFaults();
    // The software builds the message again: new bytes, same LRN and message identification.
    const outcome = await waitFor(
      async () => {
        const again = await post('/departures', build('2026-12-06T10:00:30'));
        return again.status === 202 ? again : undefined;
      },
      { timeoutMs: 30_000, what: 'HMRC’s answer to the rebuilt request' },
    );
    expect(outcome.headers.get('x-ctc-hub-submission-id')).toBe(
      first.headers.get('x-ctc-hub-submission-id'),
    );
    expect(departuresWithLrn(reference)).toHaveLength(1);
    expect(await submissionsWithLrn(reference)).toHaveLength(1);
  }, 60_000);
});

describe('API keys as HMRC enrolments', () => {
  it('a key for several EORIs declares as the holder the message names', async () => {
    const reference = lrn();
    const answer = await declared('/departures', declaration(reference), { key: keyAC });
    expect(answer.status).toBe(202);
    const [row] = await submissionsWithLrn(reference);
    expect(row!.eori).toBe(traderEori);
  });

  it('a key for A and C cannot declare as B (403 as for a token without the enrolment)', async () => {
    const reference = lrn();
    const answer = await post('/departures', declaration(reference, otherEori), { key: keyAC });
    expect(answer).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN', message: "Current user doesn't have a valid EORI enrolment." },
    });
    expect(await submissionsWithLrn(reference)).toHaveLength(0);
    expect(departuresWithLrn(reference)).toHaveLength(0);
  });

  it('an EORI in scope but not connected is the same 403, nothing stored', async () => {
    const reference = lrn();
    const answer = await post('/departures', declaration(reference, unconnectedEori), {
      key: keyAC,
    });
    expect(answer).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN', message: "Current user doesn't have a valid EORI enrolment." },
    });
    expect(await submissionsWithLrn(reference)).toHaveLength(0);
  });

  it('a key for A cannot post to B’s movement: HMRC’s 404, nothing sent', async () => {
    const reference = lrn();
    const created = await declared('/departures', declaration(reference, otherEori), {
      key: keyB,
    });
    expect(created.status).toBe(202);
    const departureId = created.body.departureId as string;
    // NCTS's own answers keep arriving on the movement; what must not is an IE014.
    const invalidationsAtHmrc = () =>
      e2e.stack
        .sandbox!.controls.movements()
        .find((movement) => movement.id === departureId)!
        .messages.filter((message) => message.messageType === 'IE014').length;

    for (const key of [keyA, keyAC]) {
      const attack = await post(
        `/departures/${departureId}/messages`,
        buildMessage('IE014', { lrn: reference, eori: traderEori }),
        { key },
      );
      expect(attack).toMatchObject({
        status: 404,
        body: {
          code: 'NOT_FOUND',
          message: `Departure movement with ID ${departureId} was not found`,
        },
      });
    }
    expect(invalidationsAtHmrc()).toBe(0);
    const followUps = await e2e.testDb.db
      .selectFrom('submissions')
      .select('id')
      .where('movement_id', '=', departureId)
      .where('message_type', '=', 'IE014')
      .execute();
    expect(followUps).toHaveLength(0);
  });
});

describe('metrics', () => {
  it('counts the writes answered on HMRC’s paths by status', async () => {
    const metrics = await (await fetch(`${e2e.stack.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^ctc_api_hmrc_writes_total\{[^}]*status="202"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^ctc_api_hmrc_writes_total\{[^}]*status="406"[^}]*\} [1-9]/m);
  });
});
