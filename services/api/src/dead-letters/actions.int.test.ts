// Risk retired: an operator can replay or purge dead letters only within their API key's EORIs,
// a bulk action never covers more letters than its dry run reported (and refuses when the set
// changed), purged letters leave the list but keep their metadata, and every action, refusals
// included, is in audit_log with actor, action, target and outcome. The worker's side of a
// replay is covered end to end in tests/e2e/replay*.int.test.ts.
import { createHash, randomUUID } from 'node:crypto';
import { jobIds, queueNames } from '@ctc-hub/queue';
import { Queue } from 'bullmq';
import { eoriA, eoriB, keys, startTestApi, type TestApi } from '../test-support/api.js';
import { seedDeadLetter, type DeadLetterSeed } from '../test-support/seed.js';

let api: TestApi;
let opsQueue: Queue;
beforeAll(async () => {
  api = await startTestApi();
  opsQueue = new Queue(queueNames.ops, { connection: api.redis, prefix: api.prefix });
});
afterAll(async () => {
  await opsQueue.close();
  await api.close();
});

const keyId = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 8);

async function call(method: string, path: string, body?: unknown, key: string = keys.all) {
  const response = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? null : JSON.parse(text),
    headers: response.headers,
  };
}

let created = Date.parse('2026-11-01T00:00:00Z');
/** A dead letter with a fresh notification id; `errorCode` groups a test's letters. */
const seed = (overrides: Partial<DeadLetterSeed> & { errorCode: string }) =>
  seedDeadLetter(api.db, {
    kind: 'notification',
    errorMessage: 'XML is not well-formed',
    payload: { envelope: '{"notificationId":"x"}' },
    notificationId: randomUUID(),
    createdAt: new Date((created += 1000)),
    eori: eoriA,
    ...overrides,
  });

const audits = (action: string) =>
  api.db
    .selectFrom('audit_log')
    .select(['actor', 'action', 'target', 'outcome', 'details'])
    .where('action', '=', action)
    .orderBy('id')
    .execute();

const items = (replayId: string) =>
  api.db
    .selectFrom('replay_items')
    .select(['dead_letter_id', 'state'])
    .where('replay_id', '=', replayId)
    .orderBy('position')
    .execute();

describe('POST /v1/dead-letters/{id}/replay', () => {
  it('creates a replay of the letter, queues its job and audits it', async () => {
    const id = await seed({ errorCode: 'SINGLE' });
    const response = await call('POST', `/v1/dead-letters/${id}/replay`);
    expect(response.status).toBe(202);
    const replayId = response.body.replayId as string;
    expect(response.body).toEqual({
      replayId: expect.any(String),
      deadLetterId: id,
      total: 1,
      status: 'running',
      _links: {
        self: { href: `/v1/replays/${replayId}` },
        deadLetter: { href: `/v1/dead-letters/${id}` },
      },
    });
    expect(response.headers.get('location')).toBe(`/v1/replays/${replayId}`);
    expect(await items(replayId)).toEqual([{ dead_letter_id: id, state: 'pending' }]);
    const job = await opsQueue.getJob(jobIds.replay(replayId));
    expect(job?.name).toBe('replay');
    expect(job?.data).toEqual({ replayId });

    const progress = await call('GET', `/v1/replays/${replayId}`);
    expect(progress.body).toMatchObject({
      replayId,
      status: 'running',
      requestedBy: keyId(keys.all),
      filter: { deadLetterId: id },
      total: 1,
      replayed: 0,
      skipped: 0,
      failed: 0,
      pending: 1,
      finishedAt: null,
      problems: [],
    });
    expect((await audits('dead-letter.replay')).at(-1)).toEqual({
      actor: keyId(keys.all),
      action: 'dead-letter.replay',
      target: { deadLetterId: id, kind: 'notification', eori: eoriA, replayId },
      outcome: 'accepted',
      details: { status: 'open' },
    });
  });

  it('refuses kinds that cannot be replayed with 409 and says why', async () => {
    const id = await seed({ errorCode: 'REFUSED', kind: 'message', payload: {} });
    const response = await call('POST', `/v1/dead-letters/${id}/replay`);
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({
      code: 'NOT_REPLAYABLE',
      kind: 'message',
      message: expect.stringMatching(/kind message cannot be replayed: .*references/),
    });
    expect((await audits('dead-letter.replay')).at(-1)).toMatchObject({
      target: { deadLetterId: id, kind: 'message' },
      outcome: 'refused',
      details: { code: 'NOT_REPLAYABLE' },
    });
  });

  it('answers 200 without a replay for a resolved letter', async () => {
    const id = await seed({ errorCode: 'DONE', status: 'resolved' });
    const response = await call('POST', `/v1/dead-letters/${id}/replay`);
    expect(response).toMatchObject({
      status: 200,
      body: { replayId: null, deadLetterId: id, status: 'resolved' },
    });
    expect((await audits('dead-letter.replay')).at(-1)?.outcome).toBe('no-op');
  });

  it('refuses a letter already in flight unless forced', async () => {
    const id = await seed({ errorCode: 'INFLIGHT', status: 'replayed' });
    const refused = await call('POST', `/v1/dead-letters/${id}/replay`);
    expect(refused).toMatchObject({ status: 409, body: { code: 'ALREADY_REPLAYED' } });
    const forced = await call('POST', `/v1/dead-letters/${id}/replay`, { force: true });
    expect(forced.status).toBe(202);
    const typo = await call('POST', `/v1/dead-letters/${id}/replay`, { forse: true });
    expect(typo.status).toBe(400);
  });

  it("is 404 for an unknown letter and for another trader's, and audits the attempt", async () => {
    const unknown = await call('POST', `/v1/dead-letters/${randomUUID()}/replay`);
    expect(unknown.status).toBe(404);
    const id = await seed({ errorCode: 'OTHERS', eori: eoriA });
    const asB = await call('POST', `/v1/dead-letters/${id}/replay`, undefined, keys.b);
    expect(asB).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await audits('dead-letter.replay')).at(-1)).toEqual({
      actor: keyId(keys.b),
      action: 'dead-letter.replay',
      target: { deadLetterId: id },
      outcome: 'not-found',
      details: {},
    });
    const row = await api.db
      .selectFrom('replay_items')
      .select('replay_id')
      .where('dead_letter_id', '=', id)
      .execute();
    expect(row).toHaveLength(0);
  });
});

describe('POST /v1/dead-letters/replay', () => {
  it('replays exactly the set its dry run counted', async () => {
    const [a1, a2, b1] = [
      await seed({ errorCode: 'BULK', eori: eoriA }),
      await seed({ errorCode: 'BULK', eori: eoriA, kind: 'fetch-message' }),
      await seed({ errorCode: 'BULK', eori: eoriB }),
    ];
    await seed({ errorCode: 'BULK', eori: eoriA, status: 'resolved' });

    const dry = await call('POST', '/v1/dead-letters/replay', { dryRun: true, errorCode: 'BULK' });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({
      dryRun: true,
      action: 'replay',
      filter: { errorCode: 'BULK', status: 'open' },
      count: 3,
      byKind: { 'fetch-message': 1, notification: 2 },
      confirmation: expect.any(String),
    });
    // Letters failing after the dry run are not part of its set.
    const late = await seed({ errorCode: 'BULK', eori: eoriA, createdAt: new Date() });

    const confirmed = await call('POST', '/v1/dead-letters/replay', {
      errorCode: 'BULK',
      confirmation: dry.body.confirmation,
    });
    expect(confirmed.status).toBe(202);
    expect(confirmed.body).toMatchObject({ replayId: expect.any(String), total: 3 });
    const replayItems = await items(confirmed.body.replayId);
    expect(replayItems.map((item) => item.dead_letter_id)).toEqual([a1, a2, b1]);
    expect(replayItems.map((item) => item.dead_letter_id)).not.toContain(late);
    expect(await opsQueue.getJob(jobIds.replay(confirmed.body.replayId))).toBeDefined();
    expect((await audits('dead-letter.replay.bulk')).at(-1)).toMatchObject({
      actor: keyId(keys.all),
      target: { filter: { errorCode: 'BULK', status: 'open' }, replayId: confirmed.body.replayId },
      outcome: 'accepted',
      details: { count: 3 },
    });
    expect((await audits('dead-letter.replay.dry-run')).at(-1)).toMatchObject({
      outcome: 'ok',
      details: { count: 3 },
    });
  });

  it('counts only the letters a scoped key may see', async () => {
    await seed({ errorCode: 'SCOPED', eori: eoriA });
    await seed({ errorCode: 'SCOPED', eori: eoriB });
    await seed({ errorCode: 'SCOPED', eori: null });
    const dry = await call(
      'POST',
      '/v1/dead-letters/replay',
      { dryRun: true, errorCode: 'SCOPED' },
      keys.b,
    );
    expect(dry.body.count).toBe(1);
    const mine = await call(
      'POST',
      '/v1/dead-letters/replay',
      { errorCode: 'SCOPED', confirmation: dry.body.confirmation },
      keys.b,
    );
    expect(mine.status).toBe(202);
    const replayItems = await items(mine.body.replayId);
    const eoris = await api.db
      .selectFrom('dead_letters')
      .select('eori')
      .where(
        'id',
        'in',
        replayItems.map((item) => item.dead_letter_id),
      )
      .execute();
    expect(eoris).toEqual([{ eori: eoriB }]);
    // Another key cannot use (or see) what this one confirmed.
    const stolen = await call('POST', '/v1/dead-letters/replay', {
      errorCode: 'SCOPED',
      confirmation: dry.body.confirmation,
    });
    expect(stolen).toMatchObject({ status: 409, body: { code: 'CONFIRMATION_MISMATCH' } });
    expect((await call('GET', `/v1/replays/${mine.body.replayId}`, undefined, keys.a)).status).toBe(
      404,
    );
    expect((await call('GET', `/v1/replays/${mine.body.replayId}`, undefined, keys.b)).status).toBe(
      200,
    );
  });

  it('refuses with 409 when the set changed since the dry run, and audits the refusal', async () => {
    await seed({ errorCode: 'CHANGED' });
    const earlier = await seed({ errorCode: 'CHANGED', status: 'replayed' });
    const dry = await call('POST', '/v1/dead-letters/replay', {
      dryRun: true,
      errorCode: 'CHANGED',
    });
    expect(dry.body.count).toBe(1);
    // An earlier replay of this letter failed again: it is open, and would join the set.
    await api.db
      .updateTable('dead_letters')
      .set({ status: 'open' })
      .where('id', '=', earlier)
      .execute();
    const confirmed = await call('POST', '/v1/dead-letters/replay', {
      errorCode: 'CHANGED',
      confirmation: dry.body.confirmation,
    });
    expect(confirmed).toMatchObject({
      status: 409,
      body: { code: 'SET_CHANGED', dryRunCount: 1, count: 2 },
    });
    expect((await audits('dead-letter.replay.bulk')).at(-1)).toMatchObject({
      outcome: 'refused',
      details: { code: 'SET_CHANGED', dryRunCount: 1, count: 2 },
    });
    const replays = await api.db
      .selectFrom('replays')
      .select('id')
      .where(({ ref }) => ref('filter'), '@>', JSON.stringify({ errorCode: 'CHANGED' }) as never)
      .execute();
    expect(replays).toHaveLength(0);
  });

  it('binds the confirmation to the filter and refuses what is not a confirmation', async () => {
    await seed({ errorCode: 'BOUND' });
    const dry = await call('POST', '/v1/dead-letters/replay', { dryRun: true, errorCode: 'BOUND' });
    const widened = await call('POST', '/v1/dead-letters/replay', {
      confirmation: dry.body.confirmation,
    });
    expect(widened).toMatchObject({ status: 409, body: { code: 'CONFIRMATION_MISMATCH' } });
    const forged = await call('POST', '/v1/dead-letters/replay', {
      errorCode: 'BOUND',
      confirmation: `${dry.body.confirmation}x`,
    });
    expect(forged).toMatchObject({ status: 400, body: { code: 'INVALID_CONFIRMATION' } });
    const purge = await call('POST', '/v1/dead-letters/purge', {
      errorCode: 'BOUND',
      confirmation: dry.body.confirmation,
    });
    expect(purge).toMatchObject({ status: 409, body: { code: 'CONFIRMATION_MISMATCH' } });
    expect((await call('POST', '/v1/dead-letters/replay', { errorCode: 'BOUND' })).status).toBe(
      400,
    );
    expect(
      (await call('POST', '/v1/dead-letters/replay', { dryRun: true, errrorCode: 'BOUND' })).status,
    ).toBe(400);
    expect(
      (await call('POST', '/v1/dead-letters/replay', { dryRun: true, status: 'resolved' })).status,
    ).toBe(400);
  });
});

describe('purge', () => {
  it('takes one letter out of the list, drops its payload and keeps its metadata', async () => {
    const id = await seed({
      errorCode: 'PURGE_ONE',
      errorHistory: [{ at: '2026-11-01T00:00:00.000Z', code: 'PURGE_ONE', message: 'first' }],
    });
    const purged = await call('DELETE', `/v1/dead-letters/${id}`);
    expect(purged).toMatchObject({
      status: 200,
      body: { deadLetterId: id, status: 'purged', previousStatus: 'open', purged: true },
    });
    const listed = await call('GET', '/v1/dead-letters?errorCode=PURGE_ONE');
    expect(listed.body.totalCount).toBe(0);
    const asPurged = await call('GET', '/v1/dead-letters?errorCode=PURGE_ONE&status=purged');
    expect(asPurged.body.deadLetters.map((letter: { id: string }) => letter.id)).toEqual([id]);
    const detail = await call('GET', `/v1/dead-letters/${id}`);
    expect(detail.body).toMatchObject({
      status: 'purged',
      errorCode: 'PURGE_ONE',
      payload: null,
      errorHistory: [{ code: 'PURGE_ONE', message: 'first' }],
    });
    const again = await call('DELETE', `/v1/dead-letters/${id}`);
    expect(again).toMatchObject({ status: 200, body: { purged: false } });
    expect((await audits('dead-letter.purge')).slice(-2)).toEqual([
      {
        actor: keyId(keys.all),
        action: 'dead-letter.purge',
        target: { deadLetterId: id, kind: 'notification', eori: eoriA },
        outcome: 'accepted',
        details: { previousStatus: 'open' },
      },
      expect.objectContaining({ outcome: 'no-op', details: { previousStatus: 'purged' } }),
    ]);
  });

  it("cannot purge another trader's letter", async () => {
    const id = await seed({ errorCode: 'PURGE_OTHER', eori: eoriA });
    const response = await call('DELETE', `/v1/dead-letters/${id}`, undefined, keys.b);
    expect(response.status).toBe(404);
    const row = await api.db
      .selectFrom('dead_letters')
      .select(['status', 'payload'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('open');
    expect(row.payload).not.toBeNull();
  });

  it('purges by filter after a dry run, and only that set', async () => {
    const resolved = [
      await seed({ errorCode: 'PURGE_BULK', status: 'resolved' }),
      await seed({ errorCode: 'PURGE_BULK', status: 'resolved', eori: eoriB }),
    ];
    const open = await seed({ errorCode: 'PURGE_BULK' });
    const dry = await call('POST', '/v1/dead-letters/purge', {
      dryRun: true,
      errorCode: 'PURGE_BULK',
      status: 'resolved',
    });
    expect(dry.body).toMatchObject({ action: 'purge', count: 2 });
    const done = await call('POST', '/v1/dead-letters/purge', {
      errorCode: 'PURGE_BULK',
      status: 'resolved',
      confirmation: dry.body.confirmation,
    });
    expect(done).toMatchObject({ status: 200, body: { purged: 2 } });
    const rows = await api.db
      .selectFrom('dead_letters')
      .select(['id', 'status'])
      .where('error_code', '=', 'PURGE_BULK')
      .orderBy('created_at')
      .execute();
    expect(rows).toEqual([
      { id: resolved[0], status: 'purged' },
      { id: resolved[1], status: 'purged' },
      { id: open, status: 'open' },
    ]);
    expect((await audits('dead-letter.purge.bulk')).at(-1)).toMatchObject({
      actor: keyId(keys.all),
      target: { filter: { errorCode: 'PURGE_BULK', status: 'resolved' } },
      outcome: 'accepted',
      details: { count: 2 },
    });
  });
});

describe('GET /v1/audit', () => {
  it('lists the actions newest first, filtered by action prefix and actor', async () => {
    const id = await seed({ errorCode: 'AUDIT_READ' });
    expect((await call('DELETE', `/v1/dead-letters/${id}`)).status).toBe(200);
    expect(
      (await call('DELETE', `/v1/dead-letters/${randomUUID()}`, undefined, keys.a)).status,
    ).toBe(404);

    const purges = await call('GET', `/v1/audit?action=dead-letter.purge&actor=${keyId(keys.all)}`);
    expect(purges.status).toBe(200);
    const newest = purges.body.entries[0];
    expect(newest).toEqual({
      id: expect.any(Number),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      actor: keyId(keys.all),
      action: 'dead-letter.purge',
      target: expect.objectContaining({ deadLetterId: id }),
      outcome: expect.any(String),
      details: expect.any(Object),
    });
    // The prefix takes in the bulk purges (and their dry runs) of the test above, and nothing
    // but purges.
    const actions = new Set(purges.body.entries.map((entry: { action: string }) => entry.action));
    expect([...actions].sort()).toEqual([
      'dead-letter.purge',
      'dead-letter.purge.bulk',
      'dead-letter.purge.dry-run',
    ]);
    expect(purges.body.totalCount).toBe(purges.body.entries.length);
    const ids = purges.body.entries.map((entry: { id: number }) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const refused = await call('GET', `/v1/audit?actor=${keyId(keys.a)}&outcome=not-found`);
    expect(refused.body.entries[0]).toMatchObject({ action: 'dead-letter.purge' });
  });

  it('is 403 for a key limited to some EORIs, and 400 for a bad time', async () => {
    const scoped = await call('GET', '/v1/audit', undefined, keys.a);
    expect(scoped).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const bad = await call('GET', '/v1/audit?from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/from/);
  });
});
