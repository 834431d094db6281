import {
  resolveReplayedDeadLetters,
  recordWebhookDeadLetter,
  type FeedEventJson,
} from '@ctc-hub/db';
import { z } from 'zod';
import type { Replayer } from '../dead-letters/replay-plan.js';
import { postWebhook, webhookBody } from './deliver.js';
import { webhookKey } from './signature.js';

const webhookPayload = z.object({
  url: z.string(),
  event: z.looseObject({ cursor: z.string().min(1), kind: z.string() }),
});

/**
 * Replaying a `webhook` dead letter POSTs the stored event to its URL once more, under the same
 * webhook-id (the event's cursor), so a receiver that did get it after all drops the duplicate.
 * It arrives out of feed order, after later events. No job is queued: the replay job makes the
 * one POST itself. Success resolves the letter; failure re-opens it with the new error.
 *
 * Only URLs still in EVENT_WEBHOOK_URLS are sent to: a letter's payload is data, and must not
 * decide where the worker makes requests.
 */
export const replayWebhook: Replayer = (letter, attempt, deps) => {
  const payload = webhookPayload.safeParse(letter.payload);
  if (!payload.success) return { ok: false, reason: 'the dead letter holds no webhook event' };
  const { url } = payload.data;
  const event = payload.data.event as unknown as FeedEventJson;
  const secret = deps.config.EVENT_WEBHOOK_SECRET;
  if (!deps.config.EVENT_WEBHOOK_URLS.includes(url) || secret === undefined)
    return { ok: false, reason: 'its URL is no longer configured in EVENT_WEBHOOK_URLS' };
  return {
    ok: true,
    // Names the replay in its bookkeeping; there is no BullMQ job behind it.
    jobId: `webhook-${letter.id}-r${attempt}`,
    enqueue: async (current) => {
      const result = await postWebhook(url, event.cursor, webhookBody(event), {
        key: webhookKey(secret),
        timeoutMs: current.config.EVENT_WEBHOOK_TIMEOUT_MS,
        signal: new AbortController().signal,
      });
      if (result.ok) {
        await resolveReplayedDeadLetters(current.db, [
          { kind: 'webhook', url, cursor: event.cursor },
        ]);
        return;
      }
      await recordWebhookDeadLetter(current.db, {
        url,
        event,
        errorCode: result.code,
        errorMessage: result.message,
        history: [
          { at: new Date().toISOString(), code: result.code, message: result.message, attempt },
        ],
        eori: letter.eori,
        movementType: letter.movement_type,
        movementId: letter.movement_id,
        messageId: letter.message_id,
      });
    },
  };
};
