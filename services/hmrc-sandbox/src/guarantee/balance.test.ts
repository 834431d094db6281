import { startTestSandbox, type TestSandbox } from '../test-helpers.js';

// Guarantee Balance v2.0 as a client sees it, above all the 60-second lock per user and GRN
// that a failed request burns too.

let sandbox: TestSandbox;
let token: string;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.reset();
  token = sandbox.token('GB123456789000');
});

const balance = (grn: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${sandbox.url}/customs/guarantees/${grn}/balance`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.hmrc.2.0+json',
      'content-type': 'application/json',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /customs/guarantees/{grn}/balance', () => {
  it('returns the balance in HMRC’s shape; the access code is not case sensitive', async () => {
    const response = await balance('24GB0000010000001', { accessCode: 'ac01' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      _links: { self: { href: '/customs/guarantees/24GB0000010000001/balance' } },
      balance: 25000,
      currency: 'GBP',
    });
  });

  it('locks the user and GRN for 60 seconds even after a wrong access code', async () => {
    const wrong = await balance('24GB0000010000001', { accessCode: 'ZZZZ' });
    expect(wrong.status).toBe(404);
    expect(await wrong.json()).toEqual({
      code: 'NOT_FOUND',
      message: 'The guarantee reference number or access code did not match an existing guarantee.',
    });
    const locked = await balance('24GB0000010000001', { accessCode: 'AC01' });
    expect(locked.status).toBe(429);
    // HMRC's lock answers without Retry-After.
    expect(locked.headers.get('retry-after')).toBeNull();
    expect(await locked.json()).toEqual({
      code: 'MESSAGE_THROTTLED_OUT',
      message: 'The request for the API is throttled as you have exceeded your quota.',
    });
    expect(sandbox.controls.stats().throttled.balanceLock).toBe(1);
    // Other GRNs and other users are not locked.
    expect((await balance('24GB0000020000002', { accessCode: 'AC02' })).status).toBe(200);
    token = sandbox.token('GB999999999999');
    expect((await balance('24GB0000010000001', { accessCode: 'AC01' })).status).toBe(200);
    sandbox.controls.clearBalanceLocks();
    token = sandbox.token('GB123456789000');
    expect((await balance('24GB0000010000001', { accessCode: 'AC01' })).status).toBe(200);
  });

  it('takes the lock after the Accept and JSON checks', async () => {
    expect(
      (
        await balance(
          '24GB0000010000001',
          { accessCode: 'AC01' },
          { accept: 'application/vnd.hmrc.1.0+json' },
        )
      ).status,
    ).toBe(406);
    expect((await balance('24GB0000010000001', '{"accessCode":')).status).toBe(400);
    // A body without an access code is refused before the lock, as HMRC reads the request first…
    expect((await balance('24GB0000010000001', {})).status).toBe(400);
    expect((await balance('24GB0000010000001', { accessCode: 7 })).status).toBe(400);
    expect((await balance('24GB0000010000001', { accessCode: 'AC01' })).status).toBe(200);
  });

  it('spends the minute on a malformed access code, as HMRC validates it after locking', async () => {
    sandbox.controls.clearBalanceLocks();
    expect((await balance('24GB0000020000002', { accessCode: 'ABCDE' })).status).toBe(400);
    expect((await balance('24GB0000020000002', { accessCode: 'AC02' })).status).toBe(429);
    sandbox.controls.clearBalanceLocks();
  });

  it('answers 400 INVALID_GUARANTEE_TYPE for unsupported guarantee types', async () => {
    const response = await balance('24GB0000040000004', { accessCode: 'AC04' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      code: 'INVALID_GUARANTEE_TYPE',
      message: 'Guarantee type is not supported.',
    });
  });

  it.each([
    ['a malformed GRN', 'NOT-A-GRN', { accessCode: 'AC01' }, 'BAD_REQUEST'],
    ['a missing access code', '24GB0000010000001', {}, 'BAD_REQUEST'],
    ['a 5-character access code', '24GB0000010000001', { accessCode: 'ABCDE' }, 'BAD_REQUEST'],
  ])('answers 400 to %s', async (_label, grn, body, code) => {
    const response = await balance(grn, body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as Record<string, string>).code).toBe(code);
  });

  it('needs a user token with the guarantee balance scope', async () => {
    token = sandbox.controls.issueToken({
      scopes: ['common-transit-convention-traders'],
    }).access_token;
    expect((await balance('24GB0000010000001', { accessCode: 'AC01' })).status).toBe(401);
  });

  it('serves guarantees added through the admin API', async () => {
    const put = await fetch(`${sandbox.url}/_sandbox/guarantees/25XI1234567890AB3`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        accessCode: 'PIN9',
        balance: 99.5,
        currency: 'EUR',
        guaranteeType: '9',
      }),
    });
    expect(put.status).toBe(204);
    expect(await (await balance('25XI1234567890AB3', { accessCode: 'pin9' })).json()).toMatchObject(
      { balance: 99.5, currency: 'EUR' },
    );
  });
});
