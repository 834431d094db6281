import express, { Router, type Request, type Response } from 'express';
import { generatedMessageTypes, isGeneratedMessageType } from '@ctc-hub/ncts-testkit';
import { badRequest, route, param } from '../core/errors.js';
import type { RuntimeSettings } from '../core/settings.js';
import { movementTypeOf, type Collection, type MovementStore } from '../core/store.js';
import { messageHref, movementHref } from '../movements/hateoas.js';
import { bearerToken } from '../oauth/auth.js';
import type { TokenStore } from '../oauth/tokens.js';
import type { Inbound } from './inbound.js';
import { eoriPattern, injectMessage, type GenerateRequest } from './injection.js';

/**
 * Test-support injection, like HMRC's common-transit-convention-traders-test-support:
 * POST /test/customs/transits/movements/{departures|arrivals}/{movementId}/messages makes
 * "NCTS" send a message on a movement, which is stored and pushed through PPNS. 201.
 *
 * Body, by Content-Type:
 *  - application/xml (or text/xml): stored byte-for-byte; its type comes from the root element.
 *  - application/json: {"messageType": "IE028"} or {"message": {"messageType": "IE028"}},
 *    generated to match the movement (MRN, LRN, EORI, offices). Sandbox extras, beside
 *    messageType: "goodsItemCount", "size" (bytes, grown with goods items), "mrn", "lrn".
 * Sandbox conveniences: an unknown movementId (16 hex) creates the movement, owned by the EORI
 * in `X-Sandbox-EORI`, else the bearer token's, else the EORI in the XML (holder / trader at
 * destination / recipient), else GB123456789000. `?push=false` stores without a notification.
 * No token is required; a given one must be valid.
 */

const maxInjectedBytes = 25 * 1024 * 1024;

function readGenerateRequest(raw: unknown): GenerateRequest {
  const outer = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const inner = (
    typeof outer.message === 'object' && outer.message !== null ? outer.message : outer
  ) as Record<string, unknown>;
  const pick = (name: string) => inner[name] ?? outer[name];
  const messageType = String(pick('messageType') ?? '').toUpperCase();
  if (!isGeneratedMessageType(messageType)) {
    throw badRequest(`messageType must be one of ${Object.keys(generatedMessageTypes).join(', ')}`);
  }
  const number = (name: string): number | undefined => {
    const value = pick(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw badRequest(`${name} must be a positive integer`);
    }
    return value;
  };
  const text = (name: string): string | undefined =>
    pick(name) === undefined ? undefined : String(pick(name));
  return {
    messageType,
    goodsItemCount: number('goodsItemCount'),
    size: number('size'),
    mrn: text('mrn'),
    lrn: text('lrn'),
  };
}

export function testSupportRoutes(
  store: MovementStore,
  inbound: Inbound,
  tokens: TokenStore,
  settings: RuntimeSettings,
): Router {
  const router = Router();
  for (const collection of ['departures', 'arrivals'] as Collection[]) {
    const type = movementTypeOf(collection);
    router.post(
      `/test/customs/transits/movements/${collection}/:movementId/messages`,
      express.raw({ type: () => true, limit: maxInjectedBytes }),
      route((request: Request, response: Response) => {
        const token = bearerToken(request);
        const tokenEntry = token === undefined ? undefined : tokens.lookup(token);
        if (token !== undefined && tokenEntry === undefined)
          throw badRequest('The bearer token is unknown or expired');
        const headerEori = request.headers['x-sandbox-eori'];
        if (headerEori !== undefined && !eoriPattern.test(String(headerEori))) {
          throw badRequest('X-Sandbox-EORI is not an EORI');
        }
        const contentType = (request.headers['content-type'] ?? '').toLowerCase();
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const eori = headerEori === undefined ? tokenEntry?.eori : String(headerEori);
        const push = request.query.push !== 'false';
        let result;
        if (contentType.startsWith('application/xml') || contentType.startsWith('text/xml')) {
          result = injectMessage(store, inbound, settings, type, param(request, 'movementId'), {
            xml: raw,
            eori,
            push,
          });
        } else if (contentType.startsWith('application/json')) {
          let json: unknown;
          try {
            json = JSON.parse(raw.toString('utf8'));
          } catch {
            throw badRequest('The body is not valid JSON');
          }
          const generate = readGenerateRequest(json);
          result = injectMessage(store, inbound, settings, type, param(request, 'movementId'), {
            generate,
            eori,
            push,
          });
        } else {
          throw badRequest('Content-Type must be application/xml or application/json');
        }
        const { movement, messageId, messageType, notificationId } = result;
        response.status(201).json({
          _links: {
            self: { href: messageHref(type, movement.id, messageId) },
            [type]: { href: movementHref(type, movement.id) },
          },
          [type === 'departure' ? 'departureId' : 'arrivalId']: movement.id,
          messageId,
          messageType,
          ...(notificationId === undefined ? {} : { notificationId }),
        });
      }),
    );
  }
  return router;
}
