// The operator CLI (packages/cli) against a running stack: each command's happy path and one
// error, in both the table and the --json form, with the exit codes scripts rely on.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runCli, type Io } from '@ctc-hub/cli';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { repoRoot } from '@ctc-hub/testing';
import { connectEori } from '../../scripts/stack.js';
import { call, deadLetter } from './replay-support.js';
import { hex16, startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ FETCH_MAX_ATTEMPTS: '1' });
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
});

interface Run {
  code: number;
  out: string;
  err: string;
  json: () => any;
}

/** One command line, in process, with the stack's URL and key; `answer` is the operator's y/n. */
async function ctc(
  args: string[],
  options: { answer?: boolean; key?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  let out = '';
  let err = '';
  const io: Io = {
    env: {
      CTC_HUB_URL: e2e.stack.apiUrl,
      CTC_HUB_API_KEY: options.key ?? e2e.stack.apiKey,
      ...options.env,
    },
    out: (text) => (out += text),
    err: (text) => (err += text),
    isTty: false,
    confirm: async () => options.answer ?? false,
  };
  const code = await runCli(args, io);
  return { code, out, err, json: () => JSON.parse(out) };
}

/** A body fetch for an EORI nobody connected: one fetch-message dead letter. */
async function fetchDeadLetter(eori: string) {
  const departureId = hex16();
  const injected = await e2e.inject(
    'departure',
    departureId,
    { messageType: 'IE029', size: 100_000 },
    eori,
  );
  return deadLetter(e2e, `fetch-message:departure/${departureId}/${injected.messageId}`);
}

it('--help lists every command, from the real binary', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'packages/cli/src/main.ts', '--help'],
    { cwd: repoRoot },
  );
  for (const command of ['traders', 'dead-letters', 'replays', 'submissions', 'health', 'events'])
    expect(stdout).toContain(command);
  expect(stdout).toContain('Exit codes');
}, 30_000);

describe('traders', () => {
  it('lists the connected EORIs with consent expiry, and shows one', async () => {
    const list = await ctc(['traders', 'list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/EORI\s+TOKEN\s+CONSENT EXPIRES\s+LAST HMRC CALL/);
    expect(list.out).toContain(traderEori);
    const json = await ctc(['--json', 'traders', 'list']);
    const trader = json.json().find((row: any) => row.eori === traderEori);
    expect(trader).toMatchObject({ eori: traderEori, tokenState: expect.any(String) });
    expect(Date.parse(trader.consent.expiresAt)).toBeGreaterThan(Date.now() + 500 * 86_400_000);
    const show = await ctc(['traders', 'show', traderEori]);
    expect([show.code, show.out]).toEqual([0, expect.stringContaining('consent expires')]);
    const link = await ctc(['traders', 'connect-link', 'gb123']);
    expect(link.out.trim()).toBe(`${e2e.stack.apiUrl}/oauth/hmrc/start?eori=GB123`);
  });

  it('an EORI that is not connected: exit 3 and the api’s advice', async () => {
    const run = await ctc(['traders', 'show', 'GB000000000404']);
    expect(run.code).toBe(3);
    expect(run.err).toContain('/oauth/hmrc/start?eori=GB000000000404');
  });

  it('no API key: exit 4', async () => {
    const run = await ctc(['traders', 'list'], { key: '' });
    expect(run.code).toBe(4);
  });
});

describe('submissions', () => {
  it('lists and shows a declaration with its attempts', async () => {
    const lrn = `CLI${hex16().slice(0, 8).toUpperCase()}`;
    const response = await fetch(`${e2e.stack.apiUrl}/v1/departures`, {
      method: 'POST',
      headers: { authorization: `Bearer ${e2e.stack.apiKey}`, 'content-type': 'application/xml' },
      body: buildMessage('IE015', { lrn, eori: traderEori }),
    });
    expect(response.status).toBe(202);
    const { submissionId } = (await response.json()) as { submissionId: string };

    const list = await ctc(['submissions', 'list', '--lrn', lrn]);
    expect(list.code).toBe(0);
    expect(list.out).toContain(submissionId);
    const json = await ctc(['--json', 'submissions', 'list', '--lrn', lrn]);
    expect(json.json().submissions).toHaveLength(1);

    await e2e.api(`/v1/submissions/${submissionId}`); // (validated against the document)
    const show = await ctc(['submissions', 'show', submissionId]);
    expect(show.code).toBe(0);
    expect(show.out).toContain(`submission:`);
    expect(show.out).toContain('attempts');
    expect(show.out).toContain('IE015');
  });

  it('an invalid filter: exit 5 with the api’s message', async () => {
    const run = await ctc(['submissions', 'list', '--status', 'nope']);
    expect(run.code).toBe(5);
    expect(run.err).toContain('The status parameter must be one of');
  });
});

describe('dead letters and replays', () => {
  it('lists, shows, replays by filter after the dry run and confirmation, and follows the replay', async () => {
    const eori = 'GB999999999101';
    const letter = await fetchDeadLetter(eori);

    const list = await ctc(['dead-letters', 'list', '--eori', eori]);
    expect(list.code).toBe(0);
    expect(list.out).toContain(letter.id);
    const show = await ctc(['--json', 'dead-letters', 'show', letter.id]);
    expect(show.json()).toMatchObject({ id: letter.id, kind: 'fetch-message', eori });

    const dry = await ctc(['--json', 'dead-letters', 'replay', '--eori', eori, '--dry-run']);
    expect(dry.json()).toMatchObject({ dryRun: true, count: 1, byKind: { 'fetch-message': 1 } });

    // Not confirmed: nothing happens, exit 8.
    const declined = await ctc(['dead-letters', 'replay', '--eori', eori], { answer: false });
    expect(declined.code).toBe(8);
    expect(declined.out).toContain('1 dead letters match');
    expect((await call(e2e, 'GET', `/v1/dead-letters/${letter.id}`)).body.status).toBe('open');

    await connectEori(e2e.stack, eori);
    const replayed = await ctc(['dead-letters', 'replay', '--eori', eori, '--follow'], {
      answer: true,
    });
    expect(replayed.err).toBe('');
    expect(replayed.code).toBe(0);
    expect(replayed.out).toMatch(/replay [0-9a-f-]{36} started/);
    expect(replayed.out).toMatch(/\[#+\] 1\/1 {2}replayed 1 {2}skipped 0 {2}failed 0 {2}done/);
    const replayId = /replay ([0-9a-f-]{36}) started/.exec(replayed.out)![1]!;

    const follow = await ctc(['--json', 'replays', 'follow', replayId]);
    expect(follow.code).toBe(0);
    expect(JSON.parse(follow.out.trim().split('\n').at(-1)!)).toMatchObject({
      replayId,
      status: 'done',
      replayed: 1,
    });
    const again = await ctc(['replays', 'show', replayId]);
    expect(again.out).toContain('status:');
  }, 90_000);

  it('purges one, and by filter with --yes', async () => {
    const eori = 'GB999999999102';
    const [first, second] = [await fetchDeadLetter(eori), await fetchDeadLetter(eori)];
    const one = await ctc(['--json', 'dead-letters', 'purge', first.id]);
    expect(one.json()).toMatchObject({ deadLetterId: first.id, status: 'purged', purged: true });
    const rest = await ctc(['--json', 'dead-letters', 'purge', '--eori', eori, '--yes']);
    expect(rest.code).toBe(0);
    expect(rest.out).toContain('"purged": 1');
    expect((await call(e2e, 'GET', `/v1/dead-letters/${second.id}`)).body.status).toBe('purged');
  }, 60_000);

  it('an unknown dead letter: exit 3; a bad id: exit 5; an unknown option: exit 2', async () => {
    expect((await ctc(['dead-letters', 'show', '00000000-0000-0000-0000-000000000000'])).code).toBe(
      3,
    );
    expect((await ctc(['dead-letters', 'show', 'nope'])).code).toBe(5);
    expect((await ctc(['dead-letters', 'list', '--colour'])).code).toBe(2);
  });

  it('completes dead-letter ids from the api', async () => {
    const run = await ctc(['__complete', 'dead-letters', 'show']);
    const { body } = await call(e2e, 'GET', '/v1/dead-letters?count=1');
    expect(run.out.split('\n')).toContain(body.deadLetters[0].id);
    expect((await ctc(['__complete', 'dead-letters'])).out.split('\n')).toEqual(
      expect.arrayContaining(['list', 'show', 'replay', 'purge']),
    );
    expect((await ctc(['completion', 'bash'])).out).toContain('complete -F');
  });
});

describe('health and events', () => {
  it('reports every service ready, Redis durability and the HMRC budget', async () => {
    const env = {
      CTC_HUB_RECEIVER_URL: e2e.stack.receiverUrl,
      CTC_HUB_WORKER_URL: e2e.stack.workerUrl,
    };
    const run = await ctc(['health'], { env });
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/api\s+ready/);
    expect(run.out).toMatch(/receiver\s+ready/);
    expect(run.out).toMatch(/worker\s+ready/);
    expect(run.out).toMatch(/redis/i);
    expect(run.out).toMatch(/HMRC budget: \d+\/s/);
    const json = await ctc(['--json', 'health'], { env });
    expect(json.json()).toMatchObject({
      healthy: true,
      hmrcBudget: { limitPerSecond: expect.any(Number) },
    });
  });

  it('a service that does not answer: exit 7', async () => {
    const run = await ctc(['health'], { env: { CTC_HUB_WORKER_URL: 'http://127.0.0.1:9' } });
    expect(run.code).toBe(7);
    expect(run.out).toMatch(/worker\s+DOWN/);
  });

  it('the api unreachable: exit 6', async () => {
    const run = await ctc(['--url', 'http://127.0.0.1:9', 'submissions', 'list']);
    expect(run.code).toBe(6);
    expect(run.err).toContain('Cannot reach the api');
  });

  it('events tail prints the feed from the beginning', async () => {
    const run = await ctc(['--json', 'events', 'tail', '--after', '', '--limit', '2']);
    expect(run.code).toBe(0);
    const lines = run.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      kind: expect.any(String),
      cursor: expect.any(String),
    });
    const bad = await ctc(['events', 'tail', '--after', 'garbage', '--limit', '1']);
    expect(bad.code).toBe(5);
  });
});
