import express, { Router, type Request, type Response } from 'express';
import { ctcAccept } from '../core/accept.js';
import { authOf, type Authenticators } from '../oauth/auth.js';
import { badRequest, HmrcError, route, param } from '../core/errors.js';
import { answerSubmission } from '../faults/faults.js';
import { newMessageResponse, newMovementResponse } from '../movements/hateoas.js';
import { jsonToXml } from '../xml/json.js';
import { outcomes, type Outcome } from '../lifecycle/simulator.js';
import type { SandboxStats } from '../core/stats.js';
import { movementTypeOf, type Collection, type MovementStore } from '../core/store.js';
import type { Submissions, Target } from './submissions.js';
import type { SchemaPhase } from './validation.js';
import { hmrcCanReadEncoding } from '../xml/encoding.js';
import { checkId, findMovement } from '../movements/routes.js';

/**
 * Submission endpoints (reference §3.1-3.4): POST /movements/{departures|arrivals} creates a
 * movement (IE015 / IE007), POST …/{id}/messages adds IE013/IE014/IE170 or IE044.
 * Content-Type decides the route: exactly application/xml (optionally ; charset=utf-8) → XML,
 * exactly application/json → JSON, absent → large-message route, anything else → 415.
 */

/** HMRC's small-route limit. */
export const smallMessageLimit = 5_000_000;

type ContentRoute = 'xml' | 'json' | 'large';

function contentRoute(request: Request): ContentRoute {
  const header = request.headers['content-type'];
  if (header === undefined) return 'large';
  const normalised = header.toLowerCase();
  if (normalised === 'application/xml' || normalised === 'application/xml; charset=utf-8')
    return 'xml';
  if (normalised === 'application/json') return 'json';
  throw new HmrcError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-type header ${header} is not supported!`,
  );
}

/** X-Sandbox-Outcome picks the simulated NCTS answer (lifecycle/simulator.ts); absent: markers. */
export function requestedOutcome(request: Request): Outcome | undefined {
  const header = request.headers['x-sandbox-outcome'];
  if (header === undefined) return undefined;
  const value = String(header).trim().toLowerCase();
  if (!(outcomes as readonly string[]).includes(value)) {
    throw badRequest(`X-Sandbox-Outcome must be one of ${outcomes.join(', ')}`);
  }
  return value as Outcome;
}

const readBody = express.raw({ type: () => true, limit: smallMessageLimit });

/** Reads the body (413 past the limit) into request.body as a Buffer. */
function body(request: Request, response: Response): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readBody(request, response, (error?: unknown) => {
      if (error !== undefined && error !== null) return reject(error);
      resolve(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
    });
  });
}

function toXml(raw: Buffer, route: ContentRoute): Buffer {
  if (route === 'xml') {
    if (!hmrcCanReadEncoding(raw)) throw badRequest('Input was malformed');
    return raw;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('Input was malformed');
  }
  const xml = jsonToXml(json);
  if (xml === undefined) throw badRequest('Input was malformed');
  return Buffer.from(xml, 'utf8');
}

const origin = (request: Request) => `${request.protocol}://${request.get('host') ?? 'localhost'}`;

export function submissionRoutes(
  store: MovementStore,
  submissions: Submissions,
  auth: Authenticators,
  stats: SandboxStats,
  hanging: Set<Response>,
): Router {
  const router = Router();
  for (const collection of ['departures', 'arrivals'] as Collection[]) {
    const type = movementTypeOf(collection);
    const base = `/customs/transits/movements/${collection}`;
    const idName = type === 'departure' ? 'departureId' : 'arrivalId';

    const handle = async (
      request: Request,
      response: Response,
      target: Target,
      phase: SchemaPhase,
    ) => {
      const routeKind = contentRoute(request);
      const outcome = requestedOutcome(request);
      if (routeKind === 'large') {
        const opened = submissions.openUpload(target, phase, outcome, origin(request));
        const answer =
          target.kind === 'new'
            ? newMovementResponse(
                opened.movement,
                opened.message,
                opened.movement.boxId,
                opened.uploadRequest,
              )
            : newMessageResponse(opened.movement, opened.message, opened.uploadRequest);
        answerSubmission(response, stats, hanging, 202, answer);
        return;
      }
      const xml = toXml(await body(request, response), routeKind);
      const info = await submissions.validate(xml, target, phase);
      const { movement, message } = submissions.accept(xml, info, target, outcome, phase);
      const answer =
        target.kind === 'new'
          ? newMovementResponse(movement, message, movement.boxId)
          : newMessageResponse(movement, message);
      answerSubmission(response, stats, hanging, 202, answer);
    };

    router.post(
      base,
      auth.ctc,
      route(async (request: Request, response: Response) => {
        const accept = ctcAccept(request, ['json']);
        const phase = accept.version === '3.0' ? 'phase6' : 'phase5';
        await handle(request, response, { kind: 'new', type, eori: authOf(response).eori! }, phase);
      }),
    );

    router.post(
      `${base}/:movementId/messages`,
      auth.ctc,
      route(async (request: Request, response: Response) => {
        checkId(idName, param(request, 'movementId'));
        const accept = ctcAccept(request, ['json']);
        const phase = accept.version === '3.0' ? 'phase6' : 'phase5';
        contentRoute(request);
        const movement = findMovement(
          store,
          type,
          param(request, 'movementId'),
          authOf(response).eori!,
        );
        await handle(request, response, { kind: 'follow-up', movement }, phase);
      }),
    );
  }
  return router;
}
