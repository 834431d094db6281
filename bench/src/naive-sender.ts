/**
 * The naive sender of benchmark 5 (bench/src/submissions.ts): posts declarations straight to
 * HMRC's CTC API (here a sandbox of its own) as fast as it can, `concurrency` requests in flight,
 * with no pacing. A 429 is the only thing it retries, after the Retry-After HMRC gives (what the
 * developer guide asks: "back off temporarily"); any other answer is final. It never retries
 * after a timeout or a 5xx, so it cannot send a declaration twice (and the benchmark has no
 * faults), which keeps the exactly-once check meaningful for both senders.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface NaiveDeclaration {
  lrn: string;
  xml: string;
}

export interface NaiveOutcome {
  lrn: string;
  /** Epoch ms of the first attempt. */
  firstAttemptAt: number;
  /** Epoch ms when HMRC answered 202 (undefined: never accepted). */
  acceptedAt: number | undefined;
  attempts: number;
  throttled: number;
  finalStatus: number;
  departureId: string | undefined;
}

export interface NaiveResult {
  outcomes: NaiveOutcome[];
  requests: number;
  throttled: number;
  startedAt: number;
  finishedAt: number;
}

export async function runNaiveSender(options: {
  baseUrl: string;
  token: string;
  declarations: readonly NaiveDeclaration[];
  concurrency: number;
  /** Gives up on a declaration after this many 429s (a safety net; never reached here). */
  maxThrottledPerDeclaration?: number;
}): Promise<NaiveResult> {
  const outcomes: NaiveOutcome[] = [];
  const startedAt = Date.now();
  let next = 0;
  let requests = 0;
  let throttled = 0;
  const maxThrottled = options.maxThrottledPerDeclaration ?? 1000;

  const sendOne = async (declaration: NaiveDeclaration): Promise<NaiveOutcome> => {
    const outcome: NaiveOutcome = {
      lrn: declaration.lrn,
      firstAttemptAt: Date.now(),
      acceptedAt: undefined,
      attempts: 0,
      throttled: 0,
      finalStatus: 0,
      departureId: undefined,
    };
    for (;;) {
      outcome.attempts += 1;
      requests += 1;
      const response = await fetch(`${options.baseUrl}/customs/transits/movements/departures`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.token}`,
          accept: 'application/vnd.hmrc.2.1+json',
          'content-type': 'application/xml',
        },
        body: declaration.xml,
      });
      outcome.finalStatus = response.status;
      if (response.status === 429 && outcome.throttled < maxThrottled) {
        await response.body?.cancel();
        outcome.throttled += 1;
        throttled += 1;
        const seconds = Number(response.headers.get('retry-after') ?? '1');
        await sleep((Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000);
        continue;
      }
      if (response.status === 202) {
        outcome.acceptedAt = Date.now();
        outcome.departureId = ((await response.json()) as { departureId?: string }).departureId;
      } else {
        await response.body?.cancel();
      }
      return outcome;
    }
  };

  const lane = async () => {
    while (next < options.declarations.length) {
      const declaration = options.declarations[next]!;
      next += 1;
      outcomes.push(await sendOne(declaration));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return { outcomes, requests, throttled, startedAt, finishedAt: Date.now() };
}
