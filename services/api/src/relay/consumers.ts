import { randomUUID } from 'node:crypto';
import {
  deleteRelayConsumer,
  getRelayConsumerRow,
  insertRelayConsumer,
  listRelayConsumers,
  relaySecretContext,
  updateRelayConsumer,
  type RelayConsumerView,
} from '@ctc-hub/db';
import { tokenCipherFromConfig } from '@ctc-hub/hmrc-client';
import express, { Router } from 'express';
import { writeAudit } from '../audit/queries.js';
import type { ApiDeps } from '../deps.js';
import { operatorOf } from '../http/auth.js';
import { ApiError, notFound, route } from '../http/errors.js';
import { iso, isoOrNull } from '../http/hateoas.js';
import { uuidParam } from '../http/params.js';
import { invalidCallbackMessage, validateCallback } from './challenge.js';
import { parseConsumerInput } from './input.js';

/**
 * The PPNS relay's consumers, configured by operators (unscoped keys) only:
 *   POST   /v1/relay/consumers       {name, eoris, callbackUrl?, secret?, boxId?}
 *   GET    /v1/relay/consumers       every consumer, with its box's counts by status
 *   GET    /v1/relay/consumers/{id}
 *   PATCH  /v1/relay/consumers/{id}  any of name, callbackUrl (null: pull only), secret, eoris, enabled
 *   DELETE /v1/relay/consumers/{id}  the consumer and its box
 * A callback URL is saved only once it has answered PPNS's challenge (GET ?challenge=), as PPNS
 * saves one; the secret is stored encrypted (TOKEN_ENCRYPTION_KEYS) and never shown again.
 */

const jsonBody = express.json({ limit: '64kb', type: () => true });
const operatorsOnly = 'only an operator key (not limited to EORIs) may configure the PPNS relay';
/** A URL in the audit log: origin and path only, since a query may carry credentials. */
const auditUrl = (url: string | null) => {
  if (url === null) return null;
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
};

function consumerJson(view: RelayConsumerView) {
  return {
    id: view.id,
    name: view.name,
    boxId: view.box_id,
    callbackUrl: view.callback_url,
    callbackValidated: view.callback_url !== null && view.validated_url === view.callback_url,
    validatedAt: isoOrNull(view.validated_at),
    hasSecret: view.hasSecret,
    eoris: view.eoris ?? '*',
    enabled: view.enabled,
    notifications: view.counts,
    createdBy: view.created_by,
    createdAt: iso(view.created_at),
    updatedAt: iso(view.updated_at),
    _links: {
      self: { href: `/v1/relay/consumers/${view.id}` },
      box: { href: `/misc/push-pull-notification/box/${view.box_id}/notifications` },
    },
  };
}

export function relayConsumerRoutes(deps: ApiDeps): Router {
  const router = Router();
  const cipher = tokenCipherFromConfig(deps.config);
  const base = '/v1/relay/consumers';
  const urlRules = { allowHttp: deps.config.RELAY_CALLBACK_ALLOW_HTTP };

  async function challenge(url: string): Promise<void> {
    const result = await validateCallback(url, deps.config.RELAY_CHALLENGE_TIMEOUT_MS);
    if (!result.ok)
      throw new ApiError(400, 'CALLBACK_VALIDATION_FAILED', invalidCallbackMessage, {
        detail: result.detail,
      });
  }

  async function viewOf(id: string): Promise<RelayConsumerView> {
    const [view] = await listRelayConsumers(deps.db, id);
    if (view === undefined) throw notFound('Relay consumer not found');
    return view;
  }

  router.post(
    base,
    jsonBody,
    route(async (request, response) => {
      const principal = operatorOf(request, operatorsOnly);
      const input = parseConsumerInput(request.body, true, urlRules);
      const callbackUrl = input.callbackUrl ?? null;
      if (callbackUrl !== null) await challenge(callbackUrl);
      const id = randomUUID();
      const boxId = input.boxId ?? randomUUID();
      try {
        await insertRelayConsumer(deps.db, {
          id,
          name: input.name!,
          boxId,
          callbackUrl,
          secret:
            input.secret === undefined
              ? null
              : cipher.encrypt(input.secret, relaySecretContext(id)),
          eoris: input.eoris ?? null,
          createdBy: principal.keyId,
          validated: callbackUrl !== null,
        });
      } catch (error) {
        if ((error as { code?: string }).code === '23505')
          throw new ApiError(409, 'CONFLICT', `box ${boxId} is already another consumer's`);
        throw error;
      }
      await writeAudit(deps.db, {
        actor: principal.keyId,
        action: 'relay.consumer.create',
        target: { consumerId: id, boxId },
        outcome: 'created',
        details: { callbackUrl: auditUrl(callbackUrl), eoris: input.eoris ?? '*' },
      });
      response
        .status(201)
        .location(`${base}/${id}`)
        .json(consumerJson(await viewOf(id)));
    }),
  );

  router.get(
    base,
    route(async (request, response) => {
      operatorOf(request, operatorsOnly);
      response.json({ consumers: (await listRelayConsumers(deps.db)).map(consumerJson) });
    }),
  );

  router.get(
    `${base}/:consumerId`,
    route(async (request, response) => {
      operatorOf(request, operatorsOnly);
      response.json(consumerJson(await viewOf(uuidParam(request, 'consumerId'))));
    }),
  );

  router.patch(
    `${base}/:consumerId`,
    jsonBody,
    route(async (request, response) => {
      const principal = operatorOf(request, operatorsOnly);
      const id = uuidParam(request, 'consumerId');
      const input = parseConsumerInput(request.body, false, urlRules);
      const current = await getRelayConsumerRow(deps.db, id);
      if (current === undefined) throw notFound('Relay consumer not found');
      const url = input.callbackUrl === undefined ? current.callback_url : input.callbackUrl;
      if (url !== null && input.secret === undefined && current.secret === null)
        throw new ApiError(400, 'BAD_REQUEST', 'secret is required with a callbackUrl');
      // A new URL (or one never validated) answers the challenge before it is saved.
      const validate = url !== null && url !== current.validated_url;
      if (validate) await challenge(url);
      await updateRelayConsumer(deps.db, id, {
        ...(input.name !== undefined && { name: input.name }),
        ...(input.callbackUrl !== undefined && { callbackUrl: input.callbackUrl }),
        ...(input.secret !== undefined && {
          secret: cipher.encrypt(input.secret, relaySecretContext(id)),
        }),
        ...(input.eoris !== undefined && { eoris: input.eoris }),
        ...(input.enabled !== undefined && { enabled: input.enabled }),
        validated: validate,
      });
      await writeAudit(deps.db, {
        actor: principal.keyId,
        action: 'relay.consumer.update',
        target: { consumerId: id, boxId: current.box_id },
        outcome: 'updated',
        details: {
          fields: Object.keys(input),
          ...(input.callbackUrl !== undefined && { callbackUrl: auditUrl(input.callbackUrl) }),
        },
      });
      response.json(consumerJson(await viewOf(id)));
    }),
  );

  router.delete(
    `${base}/:consumerId`,
    route(async (request, response) => {
      const principal = operatorOf(request, operatorsOnly);
      const id = uuidParam(request, 'consumerId');
      if (!(await deleteRelayConsumer(deps.db, id))) throw notFound('Relay consumer not found');
      await writeAudit(deps.db, {
        actor: principal.keyId,
        action: 'relay.consumer.delete',
        target: { consumerId: id },
        outcome: 'deleted',
      });
      response.status(204).end();
    }),
  );

  return router;
}
