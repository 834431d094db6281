import { Agent } from 'undici';
import { CtcClient } from './ctc-client.js';
import { checkUploadUrl } from './large-message.js';
import { HmrcTransport } from './transport.js';
import { startLocalServer, type LocalServer } from './test-support/local-server.js';

// Invariant 5: only HMRC's configured base URL is ever fetched. A messageUri arrives in a PPNS
// notification, so treat it as hostile: every variant here must be refused before a connection
// is opened, which the local server (standing in for HMRC and for an internal target) confirms.

const dispatcher = new Agent({ keepAliveTimeout: 10 });
let hmrc: LocalServer;
let internal: LocalServer;

beforeEach(async () => {
  hmrc = await startLocalServer((_request, response) => response.end('<x/>'));
  internal = await startLocalServer((_request, response) => response.end('secret'));
});
afterEach(async () => {
  await hmrc.close();
  await internal.close();
});
afterAll(async () => {
  await dispatcher.close();
});

const client = () =>
  new CtcClient({ baseUrl: hmrc.url, apiVersion: '2.1', timeoutMs: 2000, dispatcher });

// {internal} is replaced by the internal server's origin when the test runs.
const hostile = [
  `{internal}/customs/transits/movements/departures/0123456789abcdef/messages/fedcba9876543210`,
  'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
  'https://evil.example.com/customs/transits/movements/departures/1/messages/2',
  '//{internalHost}/customs/transits/movements/departures/1/messages/2',
  '//evil.example.com/customs/transits/movements/departures/1/messages/2',
  '/customs/transits/movements/departures/%2e%2e/messages/1',
  '/customs/transits/movements/departures/%2E%2E%2F%2E%2E/messages/1',
  '/customs/transits/movements/departures/..%2f..%2f/messages/1',
  '/customs/transits/movements/departures/../../../admin/messages/1',
  '/customs/transits/movements/departures/1/messages/2/../../../../x',
  '/customs\\transits\\movements\\departures\\1\\messages\\2',
  '\\\\evil.example.com\\customs/transits/movements/departures/1/messages/2',
  '/customs/transits/movements/departures/1/messages/2?next=http://169.254.169.254/',
  '/customs/transits/movements/departures/1/messages/2#frag',
  '@169.254.169.254/customs/transits/movements/departures/1/messages/2',
  '/customs/transits/movements/departures/1@169.254.169.254/messages/2',
  '/customs/transits/movements/departures/1/messages/2%00',
  ' /customs/transits/movements/departures/1/messages/2',
  '/customs/transits/movements/other/1/messages/2',
  '',
];

it.each(hostile.map((uri, index) => [index, uri]))(
  'refuses messageUri #%i (%s) with no request made',
  async (_index, template) => {
    const uri = template
      .replace('{internal}', internal.url)
      .replace('{internalHost}', `127.0.0.1:${internal.port}`);
    const ctc = client();
    const body = await ctc.fetchMessageBody({ messageUri: uri, token: 't', maxBytes: 1000 });
    const message = await ctc.getMessage({ messageUri: uri, token: 't' });
    expect(body).toMatchObject({ ok: false, error: { kind: 'refused' } });
    expect(message).toMatchObject({ ok: false, error: { kind: 'refused' } });
    expect(hmrc.connections).toBe(0);
    expect(internal.connections).toBe(0);
  },
);

it('refuses values that are not strings', async () => {
  for (const uri of [undefined, null, 42, { toString: () => '/customs' }]) {
    const result = await client().fetchMessageBody({
      messageUri: uri as unknown as string,
      token: 't',
      maxBytes: 10,
    });
    expect(result).toMatchObject({ ok: false, error: { kind: 'refused' } });
  }
  expect(hmrc.connections).toBe(0);
});

it('refuses movement ids, box ids and GRNs that are not plain identifiers', async () => {
  const ctc = client();
  const results = await Promise.all([
    ctc.getMovement('departure', '../../admin', 't'),
    ctc.getMovement('departure', '%2e%2e', 't'),
    ctc.getMovement('departures' as never, '0123456789abcdef', 't'),
    ctc.listMessages('arrival', '1/../../x', {}, 't'),
    ctc.submitMessage({ type: 'departure', movementId: '1?x=', xml: '<x/>', token: 't' }),
    ctc.listBoxNotifications('../box', {}, 't'),
    ctc.acknowledgeNotifications('169.254.169.254', ['1ed5f407-8096-40d1-87ef-9a2a103eeb85'], 't'),
    ctc.checkGuaranteeBalance('http://x/', 'AB12', 't'),
  ]);
  for (const result of results)
    expect(result).toMatchObject({ ok: false, error: { kind: 'refused' } });
  expect(hmrc.connections).toBe(0);
});

it('refuses a token that could smuggle header lines', async () => {
  const result = await client().fetchMessageBody({
    messageUri: '/customs/transits/movements/departures/0123456789abcdef/messages/fedcba9876543210',
    token: 'abc\r\nX-Forwarded-Host: evil',
    maxBytes: 10,
  });
  expect(result).toMatchObject({ ok: false, error: { kind: 'refused' } });
  expect(hmrc.connections).toBe(0);
});

describe('large-message upload URLs', () => {
  const fields = {};
  it('refuses every URL off the allow-list before a connection is opened', async () => {
    const ctc = new CtcClient({
      baseUrl: hmrc.url,
      apiVersion: '2.1',
      timeoutMs: 2000,
      dispatcher,
      upload: { hosts: ['www.upscan.tax.service.gov.uk', '.upscan.example'] },
    });
    for (const href of [
      // HMRC's own API host is no upload host: HMRC never hands one out there.
      `${hmrc.url}/upload`,
      `${internal.url}/upload`,
      'http://169.254.169.254/latest',
      'http://www.upscan.tax.service.gov.uk/v1/uploads/fus-inbound-1',
      'https://www.upscan.tax.service.gov.uk:8443/v1/uploads/fus-inbound-1',
      'https://evil-www.upscan.tax.service.gov.uk/',
      'https://www.upscan.tax.service.gov.uk.attacker.example/',
      'https://www.upscan.tax.service.gov.uk.',
      'https://xwww.upscan.tax.service.gov.uk/',
      'https://user:pass@www.upscan.tax.service.gov.uk/',
      'https://www.upscan.tax.service.gov.uk@attacker.example/',
      'https://upscan.example/',
      'https://evilupscan.example/',
      'https://a.upscan.example.attacker.example/',
      'https://bucket.s3.eu-west-2.amazonaws.com/',
      'not a url',
    ]) {
      const result = await ctc.uploadLargeMessage({ href, fields }, '<x/>');
      expect([href, result]).toEqual([
        href,
        {
          ok: false,
          error: { kind: 'refused', message: expect.any(String) },
        },
      ]);
    }
    expect(internal.connections).toBe(0);
    expect(hmrc.connections).toBe(0);
  });

  it.each([
    [
      'https://www.upscan.tax.service.gov.uk/v1/uploads/fus-inbound-1',
      'www.upscan.tax.service.gov.uk',
    ],
    ['https://WWW.Upscan.Tax.Service.Gov.UK:443/v1/uploads/x', 'www.upscan.tax.service.gov.uk'],
    ['https://www.qa.upscan.example/v1/uploads/x', '.upscan.example'],
  ])('accepts %s (allowed by %s)', (href, rule) => {
    expect(checkUploadUrl(href, { hosts: [rule], allowHttp: false })).toMatchObject({ ok: true });
  });

  it('names the refused host', () => {
    expect(
      checkUploadUrl('https://upload.attacker.example/x', {
        hosts: ['www.upscan.tax.service.gov.uk'],
        allowHttp: false,
      }),
    ).toEqual({
      ok: false,
      reason:
        'upload host upload.attacker.example is not allowed (HMRC_UPLOAD_HOSTS: www.upscan.tax.service.gov.uk)',
    });
  });

  it('takes http only when allowed, and then only to an allowed host and port', () => {
    const policy = { hosts: ['localhost:8091'], allowHttp: true };
    expect(checkUploadUrl('http://localhost:8091/_sandbox/upload/1', policy)).toMatchObject({
      ok: true,
    });
    expect(checkUploadUrl('http://localhost:8092/x', policy)).toMatchObject({ ok: false });
    expect(checkUploadUrl('http://127.0.0.1:8091/x', policy)).toMatchObject({ ok: false });
    expect(
      checkUploadUrl('http://localhost:8091/x', { ...policy, allowHttp: false }),
    ).toMatchObject({ ok: false, reason: 'the upload URL must be https, not http' });
  });

  it("defaults to the upload host of HMRC's environment in the base URL", async () => {
    const production = new CtcClient({
      baseUrl: 'https://api.service.hmrc.gov.uk',
      apiVersion: '2.1',
      timeoutMs: 2000,
      dispatcher,
    });
    const refusedFor = async (ctc: CtcClient, href: string) =>
      (await ctc.uploadLargeMessage({ href, fields }, '<x/>', {
        signal: AbortSignal.abort(),
      })) as { ok: false; error: { kind: string; message: string } };
    // Allowed hosts get past the URL check (then stop at the aborted signal, sending nothing).
    expect(
      (await refusedFor(production, 'https://www.upscan.tax.service.gov.uk/v1/uploads/x')).error
        .kind,
    ).toBe('aborted');
    expect(
      (await refusedFor(production, 'https://www.externaltest.upscan.tax.service.gov.uk/v1/x'))
        .error.kind,
    ).toBe('refused');
    const sandbox = new CtcClient({
      baseUrl: 'https://test-api.service.hmrc.gov.uk',
      apiVersion: '2.1',
      timeoutMs: 2000,
      dispatcher,
    });
    expect(
      (await refusedFor(sandbox, 'https://www.externaltest.upscan.tax.service.gov.uk/v1/x')).error
        .kind,
    ).toBe('aborted');
    // A stand-in of HMRC has no default: its upload host must be configured.
    expect((await refusedFor(client(), 'https://upload.example/x')).error.message).toMatch(
      /HMRC_UPLOAD_HOSTS: none/,
    );
  });
});

describe('HmrcTransport.urlFor (second line of defence)', () => {
  const transport = new HmrcTransport({
    baseUrl: 'https://api.example.test/base',
    timeoutMs: 1000,
  });

  it('builds base + path + encoded query', () => {
    expect(
      transport.urlFor('/customs/transits/movements/departures', [
        ['updatedSince', '2021-06-21T09:00:00+00:00'],
      ])?.href,
    ).toBe(
      'https://api.example.test/base/customs/transits/movements/departures?updatedSince=2021-06-21T09%3A00%3A00%2B00%3A00',
    );
  });

  it.each([
    '/a/../b',
    '/a/./b',
    '//evil/x',
    '/a%2f',
    '/a\\b',
    '/a?b',
    '/a#b',
    'a',
    '/a/',
    '/a:b',
    '/@evil',
  ])('refuses %s', (path) => {
    expect(transport.urlFor(path)).toBeUndefined();
  });
});
