import { requeueRelayPush } from '@ctc-hub/db';
import { z } from 'zod';
import type { Replayer } from '../dead-letters/replay-plan.js';

const relayPayload = z.object({ consumerId: z.string().uuid(), notificationId: z.string().uuid() });

/**
 * Replaying a `relay` dead letter puts the notification back in its consumer's queue, PENDING
 * and due now, with a new retry window, in the transaction that marks the letter replayed. The
 * relay's next push resolves the letter (or re-opens it once the window has passed again). The
 * push goes to the consumer's callback URL as configured now: the letter names the consumer,
 * never a URL. No job is queued.
 */
export const replayRelay: Replayer = (letter, attempt) => {
  const payload = relayPayload.safeParse(letter.payload);
  if (!payload.success) return { ok: false, reason: 'the dead letter names no relay consumer' };
  const { consumerId, notificationId } = payload.data;
  return {
    ok: true,
    jobId: `relay-${letter.id}-r${attempt}`,
    prepare: async (trx) =>
      (await requeueRelayPush(trx, consumerId, notificationId))
        ? undefined
        : { skip: 'the consumer is gone, has no callback URL, or the notification left its box' },
    enqueue: async () => undefined,
  };
};
