import type { Submission } from '@ctc-hub/db';
import type { HmrcError } from '@ctc-hub/hmrc-client';
import { parseNctsMessage } from '@ctc-hub/ncts';
import { movementPath } from '@ctc-hub/ppns';
import type { HmrcDeps } from '../runtime/deps.js';

export type FindResult =
  | { ok: true; found: { movementId: string; messageId: string } | null; calls: number }
  | { ok: false; error: HmrcError; calls: number };

/** Clocks differ: HMRC's `created`/`received` can precede our row by a little. */
const skewMs = 2 * 60_000;

/**
 * Did an earlier attempt of this submission reach HMRC? Asked before resending whenever the
 * previous outcome is unknown (timeout or reset after sending, or a crash mid-request), so a
 * declaration is never sent twice:
 *  - IE015: departures with this LRN created since the submission, then their IE015;
 *  - IE007: arrivals with this MRN created since the submission, then their IE007;
 *  - follow-ups: the movement's messages of that type received since the submission.
 * A candidate is ours only if its messageIdentification (unique per message) matches ours.
 */
export async function findAtHmrc(
  deps: HmrcDeps,
  submission: Submission,
  token: string,
): Promise<FindResult> {
  let calls = 0;
  const v1 = submission.api_version === '1.0';
  // Each call books its own slot of the shared budget (the client's pacer), so the checks do
  // not burst past HMRC's limit.
  const call = async () => {
    calls += 1;
  };
  const since = new Date(submission.created_at.getTime() - skewMs);
  const type = submission.movement_type;

  const matchIn = async (
    movementId: string,
  ): Promise<{ ok: true; messageId: string | null } | { ok: false; error: HmrcError }> => {
    await call();
    // API 1.0 takes no count (and has no paging); 2.x pages at up to 500.
    const messages = await deps.hmrc.ctc.listMessages(
      type,
      movementId,
      v1 ? { receivedSince: since } : { receivedSince: since, count: 500 },
      token,
    );
    if (!messages.ok) return messages;
    for (const candidate of messages.list.messages) {
      if (candidate.type !== undefined && candidate.type !== submission.message_type) continue;
      if (submission.message_identification === null) return { ok: true, messageId: candidate.id };
      await call();
      const message = await deps.hmrc.ctc.getMessage({
        messageUri: `${movementPath(type, movementId)}/messages/${candidate.id}`,
        token,
      });
      if (!message.ok) return message;
      const body = message.message.body;
      if (typeof body !== 'string') continue;
      const parsed = parseNctsMessage(body);
      if (
        parsed.ok &&
        parsed.summary.header.messageIdentification === submission.message_identification
      ) {
        return { ok: true, messageId: candidate.id };
      }
    }
    return { ok: true, messageId: null };
  };

  // Follow-ups, and v1 arrival resubmissions (PUT), went to a known movement.
  if (submission.movement_id !== null) {
    const match = await matchIn(submission.movement_id);
    if (!match.ok) return { ok: false, error: match.error, calls };
    return {
      ok: true,
      found:
        match.messageId === null
          ? null
          : { movementId: submission.movement_id, messageId: match.messageId },
      calls,
    };
  }

  // v1 lists filter on nothing but updatedSince: every movement updated since is a candidate.
  const reference = v1
    ? {}
    : submission.message_type === 'IE015'
      ? submission.lrn !== null
        ? { localReferenceNumber: submission.lrn }
        : undefined
      : submission.mrn !== null
        ? { movementReferenceNumber: submission.mrn }
        : undefined;
  if (reference === undefined) return { ok: true, found: null, calls };
  calls += 1;
  const movements = await deps.hmrc.ctc.listMovements({
    type,
    token,
    updatedSince: since,
    ...(v1 ? {} : { count: 500 }),
    ...reference,
  });
  if (!movements.ok) return { ok: false, error: movements.error, calls };
  for (const movement of movements.list.movements) {
    if (movement.created !== undefined && new Date(movement.created).getTime() < since.getTime())
      continue;
    const match = await matchIn(movement.id);
    if (!match.ok) return { ok: false, error: match.error, calls };
    if (match.messageId !== null)
      return { ok: true, found: { movementId: movement.id, messageId: match.messageId }, calls };
  }
  return { ok: true, found: null, calls };
}
