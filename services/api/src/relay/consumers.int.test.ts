// Risk retired: an operator's change to a relay consumer that silently points pushes at a URL
// that never answered PPNS's challenge, leaks the push secret, or is half applied; traders'
// keys configuring the relay.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { relaySecretContext } from '@ctc-hub/db';
import { tokenCipherFromConfig } from '@ctc-hub/hmrc-client';
import { keys, startTestApi, type TestApi } from '../test-support/api.js';

let api: TestApi;
let callback: Server;
let callbackBase: string;
/** Whether the callback echoes PPNS's challenge. */
let echo = true;
const challenges: string[] = [];

beforeAll(async () => {
  api = await startTestApi({
    RELAY_CHALLENGE_TIMEOUT_MS: '2000',
    RELAY_CALLBACK_ALLOW_HTTP: 'true',
  });
  callback = createServer((request, response) => {
    const url = new URL(request.url!, 'http://x');
    challenges.push(request.url!);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ challenge: echo ? url.searchParams.get('challenge') : 'nope' }));
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  callbackBase = `http://127.0.0.1:${(callback.address() as AddressInfo).port}`;
});
afterAll(async () => {
  callback.close();
  await api?.close();
});

async function send(method: string, path: string, body?: unknown, key: string = keys.all) {
  const response = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text), text };
}

const secret = 'PUSHSECRET0123456789ABCDEFGHIJKL';

it('turns a pull-only consumer into a push one only once its URL answers the challenge', async () => {
  const created = await send('POST', '/v1/relay/consumers', {
    name: 'pull first',
    eoris: ['gb000000000001'],
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    callbackUrl: null,
    callbackValidated: false,
    hasSecret: false,
    eoris: ['GB000000000001'],
    enabled: true,
    notifications: { PENDING: 0, ACKNOWLEDGED: 0, FAILED: 0 },
  });
  const path = `/v1/relay/consumers/${created.body.id}`;

  // A callback needs a secret to sign with.
  expect(await send('PATCH', path, { callbackUrl: `${callbackBase}/cb` })).toMatchObject({
    status: 400,
  });

  echo = false;
  const refused = await send('PATCH', path, { callbackUrl: `${callbackBase}/cb?tenant=7`, secret });
  expect(refused).toMatchObject({ status: 400, body: { code: 'CALLBACK_VALIDATION_FAILED' } });
  expect(challenges.at(-1)).toMatch(/^\/cb\?tenant=7&challenge=[0-9a-f-]{36}$/);
  // Nothing of the refused change was saved, the secret included.
  expect((await send('GET', path)).body).toMatchObject({ callbackUrl: null, hasSecret: false });

  echo = true;
  const changed = await send('PATCH', path, { callbackUrl: `${callbackBase}/cb`, secret });
  expect(changed).toMatchObject({
    status: 200,
    body: { callbackUrl: `${callbackBase}/cb`, callbackValidated: true, hasSecret: true },
  });
  expect(changed.text).not.toContain(secret);
  const row = await api.db
    .selectFrom('relay_consumers')
    .select(['secret'])
    .where('id', '=', created.body.id)
    .executeTakeFirstOrThrow();
  expect(row.secret).not.toContain(secret);
  const cipher = tokenCipherFromConfig({
    TOKEN_ENCRYPTION_KEYS: [],
    TOKEN_ENCRYPTION_KEY: '0'.repeat(64),
  });
  expect(cipher.decrypt(row.secret!, relaySecretContext(created.body.id))).toEqual({
    ok: true,
    plaintext: secret,
  });

  // Changing only the secret or the name does not challenge again.
  const before = challenges.length;
  expect((await send('PATCH', path, { name: 'renamed', secret: `${secret}X` })).status).toBe(200);
  expect(challenges.length).toBe(before);

  const audit = await api.db
    .selectFrom('audit_log')
    .select(['action', 'details'])
    .where('action', 'like', 'relay.consumer.%')
    .execute();
  expect(audit.map((entry) => entry.action)).toEqual(
    expect.arrayContaining(['relay.consumer.create', 'relay.consumer.update']),
  );
  expect(JSON.stringify(audit)).not.toContain(secret);

  expect((await send('DELETE', path)).status).toBe(204);
  expect((await send('GET', path)).status).toBe(404);
});

it('refuses what is not a consumer, naming the field, and traders’ keys', async () => {
  const cases: [unknown, RegExp][] = [
    [{ eoris: '*' }, /name/],
    [{ name: 'x' }, /eoris/],
    [{ name: 'x', eoris: [] }, /eoris/],
    [{ name: 'x', eoris: ['not an eori'] }, /eoris/],
    [{ name: 'x', eoris: '*', callbackUrl: 'ftp://x.example/cb', secret }, /callbackUrl/],
    [{ name: 'x', eoris: '*', callbackUrl: `${callbackBase}/cb` }, /secret/],
    [{ name: 'x', eoris: '*', secret: 'short' }, /secret/],
    [{ name: 'x', eoris: '*', boxId: 'box' }, /boxId/],
    [{ name: 'x', eoris: '*', colour: 'blue' }, /colour/],
  ];
  for (const [body, named] of cases) {
    const answer = await send('POST', '/v1/relay/consumers', body);
    expect([answer.status, named.test(answer.body.message)]).toEqual([400, true]);
  }
  const boxId = '0f6b1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b';
  expect((await send('POST', '/v1/relay/consumers', { name: 'a', eoris: '*', boxId })).status).toBe(
    201,
  );
  expect(await send('POST', '/v1/relay/consumers', { name: 'b', eoris: '*', boxId })).toMatchObject(
    {
      status: 409,
    },
  );
  for (const [method, path] of [
    ['GET', '/v1/relay/consumers'],
    ['POST', '/v1/relay/consumers'],
  ] as const) {
    const answer = await send(
      method,
      path,
      method === 'POST' ? { name: 'x', eoris: '*' } : undefined,
      keys.a,
    );
    expect(answer.status).toBe(403);
  }
});
