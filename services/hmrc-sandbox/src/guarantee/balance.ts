import { createHash } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { exactAccept } from '../core/accept.js';
import { badRequest, HmrcError, notFound, route, param } from '../core/errors.js';
import type { SandboxStats } from '../core/stats.js';
import { authOf, type Authenticators } from '../oauth/auth.js';

/**
 * CTC Guarantee Balance API v2.0 (reference §5), in the order of HMRC's
 * GuaranteeBalanceController: Accept, the body read as a request (an access code must be
 * there), the per-user+GRN lock, the access code's format, then the lookup. The lock is never
 * released early: a malformed or wrong code or an unknown GRN still burns the window, as HMRC's
 * RequestLockingService does; its 429 carries no Retry-After.
 */

export const guaranteeSchema = z.object({
  accessCode: z.string().regex(/^[A-Za-z0-9]{4}$/),
  balance: z.number(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('GBP'),
  /** 0 waiver, 1 comprehensive, 9 individual multiple-usage are supported; 2, 4 … are not. */
  guaranteeType: z
    .string()
    .regex(/^[0-9A-Z]$/)
    .default('1'),
});
export type Guarantee = z.infer<typeof guaranteeSchema>;

export const grnPattern = /^[0-9]{2}[A-Z]{2}[A-Z0-9]{12}[0-9]$/;
const supportedTypes = new Set(['0', '1', '9']);

/** Guarantees known to the sandbox from the start (and after a reset). */
export const seededGuarantees: Record<string, Guarantee> = {
  '24GB0000010000001': { accessCode: 'AC01', balance: 25000, currency: 'GBP', guaranteeType: '1' },
  '24GB0000020000002': {
    accessCode: 'AC02',
    balance: 1234567.89,
    currency: 'GBP',
    guaranteeType: '0',
  },
  '24XI0000030000003': { accessCode: 'AC03', balance: 500.5, currency: 'EUR', guaranteeType: '9' },
  '24GB0000040000004': { accessCode: 'AC04', balance: 1000, currency: 'GBP', guaranteeType: '4' },
};

export class GuaranteeStore {
  private readonly guarantees = new Map<string, Guarantee>(Object.entries(seededGuarantees));
  private readonly locks = new Map<string, number>();

  constructor(private readonly lockSeconds: () => number) {}

  upsert(grn: string, guarantee: Guarantee): void {
    this.guarantees.set(grn, guarantee);
  }

  get(grn: string): Guarantee | undefined {
    return this.guarantees.get(grn);
  }

  all(): Record<string, Guarantee> {
    return Object.fromEntries(this.guarantees);
  }

  /** True if the lock was free (and is now taken for lockSeconds). */
  lock(userKey: string, grn: string, now = Date.now()): boolean {
    const key = createHash('sha256').update(`${userKey}${grn}`).digest('hex');
    const until = this.locks.get(key);
    if (until !== undefined && until > now) return false;
    this.locks.set(key, now + this.lockSeconds() * 1000);
    return true;
  }

  clearLocks(): void {
    this.locks.clear();
  }

  reset(): void {
    this.guarantees.clear();
    for (const [grn, guarantee] of Object.entries(seededGuarantees))
      this.guarantees.set(grn, guarantee);
    this.locks.clear();
  }
}

const jsonBody = express.json({ type: () => true, limit: '16kb', strict: false });

export function guaranteeRoutes(
  guarantees: GuaranteeStore,
  auth: Authenticators,
  stats: SandboxStats,
): Router {
  const router = Router();
  router.post(
    '/customs/guarantees/:grn/balance',
    auth.guarantee,
    (request: Request, response: Response, next: NextFunction) => {
      jsonBody(request, response, (error?: unknown) => {
        if (error !== undefined && error !== null) response.locals.badJson = true;
        next();
      });
    },
    route((request: Request, response: Response) => {
      exactAccept(request, 'application/vnd.hmrc.2.0+json', 'NOT_ACCEPTABLE');
      const grn = param(request, 'grn');
      if (!grnPattern.test(grn))
        throw badRequest('The guarantee reference number is not in the correct format.');
      if (response.locals.badJson === true)
        throw badRequest('The request body could not be parsed as JSON.');
      // HMRC reads the body as a BalanceRequest before it locks: a body without an access code
      // (or not a string) is 400 and spends nothing.
      const accessCode = (request.body as { accessCode?: unknown } | undefined)?.accessCode;
      if (typeof accessCode !== 'string') throw badRequest('The access code was not supplied.');
      const token = authOf(response);
      if (!guarantees.lock(`${token.clientId}:${token.eori}`, grn)) {
        stats.throttle('balanceLock');
        // HMRC's RequestLockingService answers 429 without Retry-After: the client must know
        // the minute from the documentation.
        throw new HmrcError(
          429,
          'MESSAGE_THROTTLED_OUT',
          'The request for the API is throttled as you have exceeded your quota.',
        );
      }
      // Then the lock, then the access code's format (HMRC's ValidationService), then whether it
      // matches (HMRC's router): a malformed or wrong code spends the minute.
      if (!/^[A-Za-z0-9]{4}$/.test(accessCode)) {
        throw badRequest(`Access code ${String(accessCode)} must be four alphanumeric characters.`);
      }
      const guarantee = guarantees.get(grn);
      // The access code is not case sensitive (guide).
      if (
        guarantee === undefined ||
        guarantee.accessCode.toUpperCase() !== accessCode.toUpperCase()
      ) {
        throw notFound(
          'The guarantee reference number or access code did not match an existing guarantee.',
        );
      }
      if (!supportedTypes.has(guarantee.guaranteeType)) {
        throw new HmrcError(400, 'INVALID_GUARANTEE_TYPE', 'Guarantee type is not supported.');
      }
      response.json({
        _links: { self: { href: `/customs/guarantees/${grn}/balance` } },
        balance: guarantee.balance,
        currency: guarantee.currency,
      });
    }),
  );
  return router;
}
