import { createSeededRandom, type RandomSource } from '@ctc-hub/ncts-testkit';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { HmrcError, sendError, throttled } from '../core/errors.js';
import type { SandboxStats } from '../core/stats.js';

/**
 * Fault injection. Global faults (PUT /_sandbox/faults, controls.setFaults) hit a share of
 * requests or pushes, chosen with Math.random or, when `seed` is set, a seeded generator so a
 * test sees the same sequence every run. A request can instead carry `X-Sandbox-Fault`, which
 * replaces the global API faults for that request and always applies (see parseFaultHeader).
 */

const share = z.number().min(0).max(1);
const milliseconds = z.union([
  z.number().int().min(0),
  z.tuple([z.number().int().min(0), z.number().int().min(0)]),
]);

export const faultConfigSchema = z
  .object({
    /** Seed for a deterministic sequence of fault decisions. */
    seed: z.number().int().optional(),
    api: z
      .object({
        /** Regular expression on the path; default: every HMRC API path (/customs, /misc). */
        paths: z.string().optional(),
        /** Added latency: a fixed number or a [min, max] range, in ms. */
        latencyMs: milliseconds.optional(),
        /** Share answered with a 5xx from errorStatuses (default [500, 502, 503, 504]). */
        errorRate: share.optional(),
        errorStatuses: z.array(z.number().int().min(500).max(599)).min(1).optional(),
        /** Share answered 429 MESSAGE_THROTTLED_OUT with Retry-After. */
        throttleRate: share.optional(),
        retryAfterSeconds: z.number().int().min(0).optional(),
        /** Share whose connection is destroyed before any answer. */
        resetRate: share.optional(),
        /** Share whose response body trickles out at slowBodyBytesPerSecond. */
        slowBodyRate: share.optional(),
        slowBodyBytesPerSecond: z.number().int().positive().optional(),
        /** Submissions (POST): share stored, then the connection reset instead of the 202. */
        acceptThenResetRate: share.optional(),
        /** Submissions (POST): share stored, then never answered (the client times out). */
        acceptThenTimeoutRate: share.optional(),
      })
      .strict()
      .default({}),
    push: z
      .object({
        /** Share of notifications stored in the box but never pushed (pull still returns them). */
        dropRate: share.optional(),
        /** Share of notifications not even stored: only GET …/messages will reveal the message. */
        loseRate: share.optional(),
        /** Share pushed twice (same notificationId, same bytes). */
        duplicateRate: share.optional(),
        duplicateDelayMs: z.number().int().min(0).optional(),
        /** Share held back for reorderDelayMs, so later notifications overtake them. */
        reorderRate: share.optional(),
        reorderDelayMs: z.number().int().min(0).optional(),
        /** Added latency before each push attempt. */
        latencyMs: milliseconds.optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type FaultConfig = z.infer<typeof faultConfigSchema>;
export type FaultConfigInput = z.input<typeof faultConfigSchema>;

/** What happens to one API request. */
export interface RequestFaults {
  latencyMs: number;
  /** Answer with this 5xx instead of handling the request. */
  status?: number;
  /** Answer 429 with this Retry-After. */
  throttleRetryAfter?: number;
  reset: boolean;
  slowBytesPerSecond?: number;
  /** For submissions: store, then reset or hang instead of answering. */
  acceptThen?: 'reset' | 'timeout';
}

export interface PushFaults {
  drop: boolean;
  lose: boolean;
  duplicateDelayMs?: number;
  holdBackMs?: number;
  latencyMs: number;
}

const noRequestFaults = (): RequestFaults => ({ latencyMs: 0, reset: false });

/**
 * `X-Sandbox-Fault` syntax: directives separated by `;` or `,`, each `name` or `name=value`:
 *   latency=<ms>           answer after <ms>
 *   status=<5xx>           answer with that status (HMRC-style error body)
 *   throttle[=<seconds>]   answer 429 MESSAGE_THROTTLED_OUT, Retry-After <seconds> (default 1)
 *   reset                  destroy the connection without answering
 *   slow=<bytes/second>    trickle the response body out at that rate
 *   accept-then-reset      (submissions) store the message, then reset the connection
 *   accept-then-timeout    (submissions) store the message, then never answer
 * Unknown directives make the request fail with 400, so a typo does not pass silently.
 */
export function parseFaultHeader(header: string): RequestFaults {
  const faults = noRequestFaults();
  for (const part of header.split(/[;,]/)) {
    const directive = part.trim();
    if (directive === '') continue;
    const [rawName, rawValue] = directive.split('=', 2).map((text) => text.trim());
    const name = (rawName ?? '').toLowerCase();
    const number = rawValue === undefined ? undefined : Number(rawValue);
    const needNumber = (min: number, max = Number.MAX_SAFE_INTEGER): number => {
      if (number === undefined || !Number.isInteger(number) || number < min || number > max) {
        throw new HmrcError(
          400,
          'BAD_REQUEST',
          `X-Sandbox-Fault: ${name} needs an integer from ${min} to ${max}`,
        );
      }
      return number;
    };
    switch (name) {
      case 'latency':
        faults.latencyMs = needNumber(0, 600_000);
        break;
      case 'status':
        faults.status = needNumber(500, 599);
        break;
      case 'throttle':
        faults.throttleRetryAfter = rawValue === undefined ? 1 : needNumber(0, 3600);
        break;
      case 'reset':
        faults.reset = true;
        break;
      case 'slow':
        faults.slowBytesPerSecond = needNumber(1);
        break;
      case 'accept-then-reset':
        faults.acceptThen = 'reset';
        break;
      case 'accept-then-timeout':
        faults.acceptThen = 'timeout';
        break;
      default:
        throw new HmrcError(400, 'BAD_REQUEST', `X-Sandbox-Fault: unknown directive "${name}"`);
    }
  }
  return faults;
}

const statusCodes: Record<number, string> = {
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVER_ERROR',
  504: 'GATEWAY_TIMEOUT',
};

/** Holds the global fault configuration and the random streams that decide who is hit. */
export class FaultState {
  private config: FaultConfig = faultConfigSchema.parse({});
  private apiRandom: RandomSource = Math.random;
  private pushRandom: RandomSource = Math.random;
  private pathPattern = /^\/(customs|misc)\//;

  set(input: FaultConfigInput): FaultConfig {
    const config = faultConfigSchema.parse(input);
    const pattern =
      config.api.paths === undefined ? /^\/(customs|misc)\// : new RegExp(config.api.paths);
    this.config = config;
    this.pathPattern = pattern;
    // Separate streams: how many requests were made must not change which pushes are hit.
    this.apiRandom = config.seed === undefined ? Math.random : createSeededRandom(config.seed);
    this.pushRandom =
      config.seed === undefined ? Math.random : createSeededRandom(config.seed ^ 0x5bd1e995);
    return config;
  }

  get(): FaultConfig {
    return structuredClone(this.config);
  }

  clear(): void {
    this.set({});
  }

  appliesTo(path: string): boolean {
    return this.pathPattern.test(path);
  }

  private hit(random: RandomSource, rate: number | undefined): boolean {
    // Always draw, so a seeded sequence does not depend on which faults are switched on.
    const draw = random();
    return rate !== undefined && rate > 0 && draw < rate;
  }

  private pick(random: RandomSource, value: number | [number, number] | undefined): number {
    if (value === undefined) return 0;
    if (typeof value === 'number') return value;
    const [min, max] = value;
    return Math.round(min + random() * Math.max(0, max - min));
  }

  decideRequest(): RequestFaults {
    const api = this.config.api;
    const random = this.apiRandom;
    const faults = noRequestFaults();
    faults.latencyMs = this.pick(random, api.latencyMs);
    const reset = this.hit(random, api.resetRate);
    const error = this.hit(random, api.errorRate);
    const throttle = this.hit(random, api.throttleRate);
    const slow = this.hit(random, api.slowBodyRate);
    const acceptThenReset = this.hit(random, api.acceptThenResetRate);
    const acceptThenTimeout = this.hit(random, api.acceptThenTimeoutRate);
    const statuses = api.errorStatuses ?? [500, 502, 503, 504];
    const statusDraw = random();
    if (reset) faults.reset = true;
    else if (error) faults.status = statuses[Math.floor(statusDraw * statuses.length)]!;
    else if (throttle) faults.throttleRetryAfter = api.retryAfterSeconds ?? 1;
    if (slow) faults.slowBytesPerSecond = api.slowBodyBytesPerSecond ?? 2048;
    if (acceptThenReset) faults.acceptThen = 'reset';
    else if (acceptThenTimeout) faults.acceptThen = 'timeout';
    return faults;
  }

  decidePush(): PushFaults {
    const push = this.config.push;
    const random = this.pushRandom;
    const lose = this.hit(random, push.loseRate);
    const drop = this.hit(random, push.dropRate);
    const duplicate = this.hit(random, push.duplicateRate);
    const reorder = this.hit(random, push.reorderRate);
    return {
      lose,
      drop: !lose && drop,
      duplicateDelayMs: duplicate ? (push.duplicateDelayMs ?? 20) : undefined,
      holdBackMs: reorder ? (push.reorderDelayMs ?? 500) : undefined,
      latencyMs: this.pick(random, push.latencyMs),
    };
  }
}

/**
 * Applies request faults to HMRC API paths: latency, then reset / 5xx / 429 before the route
 * runs; a slow body wraps the response. `accept-then-*` is left in response.locals for the
 * submission routes (see answerSubmission), since it acts after the message is stored.
 */
export function faultMiddleware(
  faults: FaultState,
  stats: SandboxStats,
  openSockets: Set<Response>,
) {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (!faults.appliesTo(request.path)) return next();
    let decided: RequestFaults;
    const header = request.headers['x-sandbox-fault'];
    try {
      decided = typeof header === 'string' ? parseFaultHeader(header) : faults.decideRequest();
    } catch (error) {
      if (error instanceof HmrcError) return sendError(response, error);
      throw error;
    }
    response.locals.faults = decided;
    const proceed = () => {
      if (decided.reset) {
        stats.fault('resets');
        request.socket.destroy();
        return;
      }
      if (decided.status !== undefined) {
        stats.fault('errors');
        const code = statusCodes[decided.status] ?? 'INTERNAL_SERVER_ERROR';
        return sendError(
          response,
          new HmrcError(decided.status, code, 'Injected fault: the service is unavailable'),
        );
      }
      if (decided.throttleRetryAfter !== undefined) {
        stats.throttle('fault');
        return sendError(response, throttled(decided.throttleRetryAfter));
      }
      if (decided.slowBytesPerSecond !== undefined) {
        stats.fault('slowBodies');
        slowDown(response, decided.slowBytesPerSecond, openSockets);
      }
      next();
    };
    if (decided.latencyMs > 0) {
      stats.fault('latency');
      setTimeout(proceed, decided.latencyMs).unref();
    } else {
      proceed();
    }
  };
}

/** Replaces response.end so the body leaves in 10 chunks per second at `bytesPerSecond`. */
function slowDown(response: Response, bytesPerSecond: number, openSockets: Set<Response>): void {
  const originalEnd = response.end.bind(response) as (chunk?: unknown) => Response;
  const originalWrite = response.write.bind(response) as (chunk: Buffer) => boolean;
  (response as unknown as { end: (chunk?: unknown, encoding?: unknown) => Response }).end = (
    chunk?: unknown,
    encoding?: unknown,
  ) => {
    const body =
      chunk === undefined || typeof chunk === 'function'
        ? Buffer.alloc(0)
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(
              String(chunk),
              typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
            );
    if (!response.hasHeader('content-length')) response.setHeader('content-length', body.length);
    const step = Math.max(1, Math.floor(bytesPerSecond / 10));
    let offset = 0;
    openSockets.add(response);
    const tick = (): void => {
      if (response.destroyed) {
        openSockets.delete(response);
        return;
      }
      if (offset >= body.length) {
        openSockets.delete(response);
        originalEnd();
        return;
      }
      originalWrite(body.subarray(offset, offset + step));
      offset += step;
      setTimeout(tick, 100).unref();
    };
    tick();
    return response;
  };
}

/**
 * Sends a submission's answer unless an accept-then-* fault says otherwise: the message is
 * already stored, so the client faces the unknown-outcome case and must check before resending.
 */
export function answerSubmission(
  response: Response,
  stats: SandboxStats,
  hanging: Set<Response>,
  status: number,
  body: unknown,
): void {
  const faults = response.locals.faults as RequestFaults | undefined;
  if (faults?.acceptThen === 'reset') {
    stats.fault('acceptThenReset');
    response.socket?.destroy();
    return;
  }
  if (faults?.acceptThen === 'timeout') {
    stats.fault('acceptThenTimeout');
    // Never answered; kept so stop() can close it.
    hanging.add(response);
    response.on('close', () => hanging.delete(response));
    return;
  }
  response.status(status).json(body);
}
