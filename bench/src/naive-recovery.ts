/**
 * The naive recovery of benchmark 9, run rather than computed: after an outage, a client that
 * trusts nothing but the CTC API sweeps every movement (one message list per movement, then one
 * GET per message it lists), under HMRC's 3 calls/s, while one declaration per second goes out
 * through the same budget ahead of the sweep (the fairest split for the naive side: declarations
 * never wait behind more than the call in flight).
 *
 * It stores nothing: the figure is the HMRC calls and the time the sweep needs, which is what
 * bounds it. It runs against the same sandbox as the hub, with a token of another application
 * (`issueToken({ clientId })`), so HMRC's per-application limit gives it a budget of its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spacingFor } from '@ctc-hub/queue';
import { percentiles, round } from './lib.js';

export interface NaiveRecoveryOptions {
  baseUrl: string;
  token: string;
  movementIds: readonly string[];
  perSecond: number;
  /** A declaration body for each second of the run (the LRN must differ). */
  declaration: (index: number) => string;
  apiVersion?: string;
  timeoutMs: number;
}

export interface NaiveRecoveryResult {
  seconds: number;
  calls: { lists: number; gets: number; declarations: number; total: number; throttled: number };
  declarations: { count: number; p50: number; p99: number };
}

type Call = { kind: 'list'; movementId: string } | { kind: 'get'; path: string };

export async function naiveRecovery(options: NaiveRecoveryOptions): Promise<NaiveRecoveryResult> {
  const version = options.apiVersion ?? '2.1';
  const base = `${options.baseUrl}/customs/transits/movements/departures`;
  const auth = { authorization: `Bearer ${options.token}` };
  const pending: Call[] = options.movementIds.map((movementId) => ({ kind: 'list', movementId }));
  const calls = { lists: 0, gets: 0, declarations: 0, total: 0, throttled: 0 };
  const declarationMs: number[] = [];
  let outstandingLists = 0;
  const inFlight = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const counted = (response: Response) => {
    calls.total += 1;
    if (response.status === 429) calls.throttled += 1;
    return response;
  };

  const list = async (movementId: string) => {
    outstandingLists += 1;
    try {
      const response = counted(
        await fetch(`${base}/${movementId}/messages?count=500`, {
          headers: { ...auth, accept: `application/vnd.hmrc.${version}+json` },
        }),
      );
      calls.lists += 1;
      if (response.status === 429) {
        pending.unshift({ kind: 'list', movementId });
        await response.arrayBuffer();
        return;
      }
      const page = (await response.json()) as { messages?: { id: string }[] };
      // Depth first: this movement's messages go before the next movement's list.
      pending.unshift(
        ...(page.messages ?? []).map((message): Call => ({
          kind: 'get',
          path: `${base}/${movementId}/messages/${message.id}/body`,
        })),
      );
    } finally {
      outstandingLists -= 1;
    }
  };
  const get = async (path: string) => {
    const response = counted(
      await fetch(path, { headers: { ...auth, accept: `application/vnd.hmrc.${version}+xml` } }),
    );
    await response.arrayBuffer();
    calls.gets += 1;
    if (response.status === 429) pending.push({ kind: 'get', path });
  };
  const declare = async (index: number) => {
    const sent = performance.now();
    const response = counted(
      await fetch(base, {
        method: 'POST',
        headers: {
          ...auth,
          accept: `application/vnd.hmrc.${version}+json`,
          'content-type': 'application/xml',
        },
        body: options.declaration(index),
      }),
    );
    await response.arrayBuffer();
    calls.declarations += 1;
    if (response.status === 202) declarationMs.push(performance.now() - sent);
  };

  // One slot every (1000 + 50) / perSecond ms, as the hub's pacer; a declaration due takes the
  // next slot, the sweep the others.
  const spacing = spacingFor(options.perSecond);
  const started = performance.now();
  let declarations = 0;
  for (let slot = 0; ; slot += 1) {
    const now = performance.now();
    if (pending.length === 0 && outstandingLists === 0 && inFlight.size === 0) break;
    if (now - started > options.timeoutMs) throw new Error('naive recovery timed out');
    const at = started + slot * spacing;
    if (at > now) await sleep(at - now);
    if (started + declarations * 1000 <= performance.now()) {
      track(declare(declarations));
      declarations += 1;
      continue;
    }
    const next = pending.shift();
    if (next === undefined) continue;
    track(next.kind === 'list' ? list(next.movementId) : get(next.path));
  }
  const seconds = round((performance.now() - started) / 1000, 1);
  const p = percentiles(declarationMs);
  return {
    seconds,
    calls,
    declarations: { count: declarationMs.length, p50: round(p.p50, 0), p99: round(p.p99, 0) },
  };
}
