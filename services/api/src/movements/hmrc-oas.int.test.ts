// Risk retired: a client generated from HMRC's own OpenAPI definition (2.1 or 3.0), with a strict
// deserialiser, reads every answer of our HMRC-compatible routes: each answer of a walk through
// the read routes, in both versions and every representation, success and error alike, validates
// against HMRC's OAS (vendored in packages/testing/fixtures/hmrc-oas) with only the documented
// differences between HMRC's OAS and HMRC's code (hmrcOasDeviations) allowed.
import { validateHmrcResponse, type HmrcApiVersion } from '@ctc-hub/testing';
import { startTestApi, type TestApi } from '../test-support/api.js';
import { example, seedMessage, seedMovement, type SeededMovement } from '../test-support/seed.js';

let api: TestApi;
let departure: SeededMovement;
let arrival: SeededMovement;
const messages: { movement: () => SeededMovement; id: string }[] = [];

beforeAll(async () => {
  api = await startTestApi();
  departure = await seedMovement(api.db, {
    movementId: '0a0a0a0a0a0a0a0a',
    lrn: 'LRN-OAS-1',
    boxId: '6f0c4b52-6a1e-4f7e-9a39-2c1f0c6b9d11',
  });
  arrival = await seedMovement(api.db, {
    movementType: 'arrival',
    movementId: '0b0b0b0b0b0b0b0b',
    mrn: '24GB00000000000OA1',
  });
  const seeds: [() => SeededMovement, string, string | null, Buffer, string][] = [
    [() => departure, '1a1a1a1a1a1a1a1a', 'IE015', example('cc015c-valid.xml'), 'Success'],
    [
      () => departure,
      '1b1b1b1b1b1b1b1b',
      'IE029',
      example('ie029-example-november-2023.xml'),
      'Received',
    ],
    [() => departure, '1c1c1c1c1c1c1c1c', 'IE013', Buffer.alloc(0), 'Pending'],
    [() => departure, '1d1d1d1d1d1d1d1d', null, example('cc015c-minimal.xml'), 'Received'],
    [() => arrival, '2a2a2a2a2a2a2a2a', 'IE007', example('cc007c-valid.xml'), 'Success'],
    [() => arrival, '2b2b2b2b2b2b2b2b', 'IE043', example('cc043c-valid.xml'), 'Received'],
  ];
  let minute = 0;
  for (const [movement, messageId, messageType, body, hmrcStatus] of seeds) {
    minute += 1;
    await seedMessage(api.db, movement(), {
      messageId,
      messageType,
      body,
      hmrcStatus,
      receivedAt: new Date(Date.UTC(2026, 11, 1, 9, minute)),
    });
    messages.push({ movement, id: messageId });
  }
});

afterAll(async () => {
  await api.close();
});

const collection = (movement: SeededMovement) =>
  movement.movementType === 'departure' ? 'departures' : 'arrivals';

/** The requests of the walk: path and Accept media type suffix. */
function walk(): [string, string][] {
  const requests: [string, string][] = [];
  for (const movement of [departure, arrival]) {
    const base = `/customs/transits/movements/${collection(movement)}`;
    const own = `${base}/${movement.movementId}`;
    requests.push(
      [base, 'json'],
      [`${base}?page=1&count=2&updatedSince=2020-01-01T00:00:00Z`, 'json'],
      [`${base}?page=9`, 'json'], // 404 page
      [`${base}?count=0`, 'json'], // 400 controller shape
      [`${base}?count=x`, 'json'], // 400 query binder shape
      [`${base}?updatedSince=yesterday`, 'json'],
      [base, 'xml'], // 406
      [own, 'json'],
      [`${base}/ffffffffffffffff`, 'json'], // 404
      [`${base}/NOT-HEX`, 'json'], // 400 path binder shape
      [`${own}/messages`, 'json'],
      [`${own}/messages?receivedSince=2026-12-01T09:02:00%2B00:00`, 'json'],
      [`${own}/messages/ffffffffffffffff`, 'json'], // 404
      [`${own}/messages/ffffffffffffffff/body`, 'xml'], // 404
    );
    for (const message of messages.filter((entry) => entry.movement() === movement)) {
      for (const accept of ['json', 'json-xml', 'json+xml', 'xml'])
        requests.push([`${own}/messages/${message.id}`, accept]);
      for (const accept of ['xml', 'json', 'json-xml'])
        requests.push([`${own}/messages/${message.id}/body`, accept]);
    }
  }
  return requests;
}

it.each(['2.1', '3.0'] as HmrcApiVersion[])(
  'every answer of the read routes validates against HMRC OAS %s',
  async (version) => {
    const problems: string[] = [];
    const statuses = new Set<number>();
    for (const [url, suffix] of walk()) {
      const accept = `application/vnd.hmrc.${version}+${suffix}`;
      const response = await api.get(url, { headers: { accept } });
      const contentType = response.headers.get('content-type');
      const text = await response.text();
      const body = /json/.test(contentType ?? '') ? JSON.parse(text) : text;
      statuses.add(response.status);
      const errors = validateHmrcResponse({
        version,
        method: 'GET',
        path: new URL(url, 'http://x').pathname,
        status: response.status,
        contentType,
        body,
        accept,
      });
      for (const error of errors) problems.push(`${url} (${accept}) → ${error}`);
    }
    expect(problems).toEqual([]);
    // The walk met every kind of answer it means to check.
    expect([...statuses].sort()).toEqual([200, 400, 404, 406]);
  },
);
