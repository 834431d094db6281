import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { grnPattern } from '../guarantee/balance.js';
import { OfficerActionError } from '../lifecycle/simulator.js';
import { officerActions } from '../scenarios/officer.js';
import type { SandboxContext, SandboxControls } from './controls.js';
import { param } from './errors.js';
import { publicSettings } from './settings.js';

/**
 * The sandbox's own admin API (not HMRC's), JSON in and out, no auth (a local test double):
 *   GET|PUT|DELETE /_sandbox/faults        global fault injection (see faults/faults.ts)
 *   GET            /_sandbox/stats         counters (API calls, pushes, 429s, faults)
 *   POST           /_sandbox/reset         forget everything, clear faults and stats
 *   GET|PUT        /_sandbox/settings      runtime settings (callbackUrl, rateLimitPerSecond, …)
 *   POST           /_sandbox/tokens        issue a token without the OAuth dance (any clientId)
 *   GET            /_sandbox/notifications the PPNS box with delivery attempts
 *   GET            /_sandbox/guarantees    guarantees; PUT /_sandbox/guarantees/{grn} to add one
 *   DELETE         /_sandbox/balance-locks clear Guarantee Balance locks
 *   GET            /_sandbox/ppns-callback-validation?url=…  run PPNS's callback challenge
 *   POST           /_sandbox/movements/{id}/officer  {"action": …}: a manual decision of the
 *                  office of departure (scenarios/officer.ts); 204, 404 unknown, 409 too late
 */

function invalid(response: Response, error: unknown): void {
  const issues =
    error instanceof z.ZodError
      ? error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      : [String(error)];
  response.status(400).json({ code: 'BAD_REQUEST', message: 'Invalid sandbox request', issues });
}

const tokenRequest = z
  .object({
    kind: z.enum(['user', 'application']).default('user'),
    eori: z
      .string()
      .regex(/^[A-Z]{2}[0-9A-Z]{1,15}$/)
      .optional(),
    scopes: z.array(z.string()).optional(),
    /** Another application (its own rate budget); default the configured SANDBOX_CLIENT_ID. */
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .optional(),
  })
  .strict();

const officerRequest = z.object({ action: z.enum(officerActions) }).strict();

export function adminRoutes(context: SandboxContext, controls: SandboxControls): Router {
  const router = Router();
  const json = express.json({ limit: '256kb' });

  router.get('/_sandbox/faults', (_request: Request, response: Response) => {
    response.json(controls.getFaults());
  });
  router.put('/_sandbox/faults', json, (request: Request, response: Response) => {
    try {
      response.json(controls.setFaults(request.body ?? {}));
    } catch (error) {
      invalid(response, error);
    }
  });
  router.delete('/_sandbox/faults', (_request: Request, response: Response) => {
    controls.clearFaults();
    response.status(204).end();
  });

  router.get('/_sandbox/stats', (_request: Request, response: Response) => {
    response.json(controls.stats());
  });
  router.post('/_sandbox/reset', (_request: Request, response: Response) => {
    controls.reset();
    response.status(204).end();
  });

  router.get('/_sandbox/settings', (_request: Request, response: Response) => {
    response.json(publicSettings(context.settings));
  });
  router.put('/_sandbox/settings', json, (request: Request, response: Response) => {
    try {
      response.json(controls.configure(request.body ?? {}));
    } catch (error) {
      invalid(response, error);
    }
  });

  router.post('/_sandbox/tokens', json, (request: Request, response: Response) => {
    const parsed = tokenRequest.safeParse(request.body ?? {});
    if (!parsed.success) return invalid(response, parsed.error);
    response.json(controls.issueToken(parsed.data));
  });

  router.get('/_sandbox/notifications', (_request: Request, response: Response) => {
    response.json(controls.notifications());
  });

  router.get('/_sandbox/guarantees', (_request: Request, response: Response) => {
    response.json(context.guarantees.all());
  });
  router.put('/_sandbox/guarantees/:grn', json, (request: Request, response: Response) => {
    if (!grnPattern.test(param(request, 'grn')))
      return invalid(response, 'the GRN does not match ^[0-9]{2}[A-Z]{2}[A-Z0-9]{12}[0-9]$');
    try {
      controls.upsertGuarantee(param(request, 'grn'), request.body ?? {});
      response.status(204).end();
    } catch (error) {
      invalid(response, error);
    }
  });
  router.delete('/_sandbox/balance-locks', (_request: Request, response: Response) => {
    controls.clearBalanceLocks();
    response.status(204).end();
  });

  router.post('/_sandbox/movements/:id/officer', json, (request: Request, response: Response) => {
    const parsed = officerRequest.safeParse(request.body ?? {});
    if (!parsed.success) return invalid(response, parsed.error);
    const id = param(request, 'id');
    if (controls.movement(id) === undefined)
      return response.status(404).json({ code: 'NOT_FOUND', message: `No movement ${id}` });
    try {
      controls.officer(id, parsed.data.action);
      response.status(204).end();
    } catch (error) {
      if (!(error instanceof OfficerActionError)) throw error;
      response.status(409).json({ code: 'CONFLICT', message: error.message });
    }
  });

  router.get('/_sandbox/ppns-callback-validation', async (request: Request, response: Response) => {
    const url = typeof request.query.url === 'string' ? request.query.url : undefined;
    if (url === undefined || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      return invalid(response, 'url must be an absolute http(s) URL');
    }
    response.json(await controls.validateCallback(url));
  });

  return router;
}
