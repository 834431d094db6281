import { fetchMessageData, type FetchMessageData } from '@ctc-hub/queue';
import { SpanKind, withSpan } from '@ctc-hub/telemetry';
import { UnrecoverableError, type Job } from 'bullmq';
import { historyEntry, messageFacts } from './records.js';
import { recordFetchRecovery } from '../reconciliation/recovery.js';
import { RetryLater, type HmrcDeps } from '../runtime/deps.js';
import { failWith, HmrcSession, TokenUnavailable, traderTokens } from '../runtime/hmrc-session.js';

/**
 * Whose token fetches this message: the EORI the notification named (HMRC's word; the sweep
 * passes the EORI it checked HMRC's list against), else the movement's enrolment EORI, else
 * HMRC_DEFAULT_EORI. `reported` says whether HMRC itself named it for this movement: only then
 * is the message filed under it; otherwise the movement keeps whatever HMRC says of it.
 */
async function eoriFor(
  deps: HmrcDeps,
  data: FetchMessageData,
): Promise<{ eori: string; reported: boolean } | undefined> {
  if (data.eori !== null) return { eori: data.eori, reported: true };
  const movement = await deps.db
    .selectFrom('movements')
    .select(['enrollment_eori', 'enrollment_verified'])
    .where('movement_type', '=', data.movementType)
    .where('movement_id', '=', data.movementId)
    .executeTakeFirst();
  if (movement?.enrollment_eori != null)
    return { eori: movement.enrollment_eori, reported: movement.enrollment_verified };
  const fallback = deps.config.HMRC_DEFAULT_EORI;
  return fallback === undefined ? undefined : { eori: fallback, reported: false };
}

async function alreadyHeld(deps: HmrcDeps, data: FetchMessageData): Promise<boolean> {
  const row = await deps.db
    .selectFrom('messages')
    .select('message_id')
    .where('movement_type', '=', data.movementType)
    .where('movement_id', '=', data.movementId)
    .where('message_id', '=', data.messageId)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * `fetch-message`: GET the body by its URI (streamed, size-capped), parse it, store it in the
 * next ingest batch and settle the notification that announced it. Runs under the hmrc queue's
 * limiter (the shared HMRC rate budget); a 429 pauses the queue for Retry-After without spending
 * an attempt.
 */
export function createFetchProcessor(deps: HmrcDeps) {
  return async (job: Job): Promise<{ stored: boolean; bytes: number }> => {
    const parsed = fetchMessageData.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(
        `job data does not match the catalogue: ${parsed.error.message}`,
      );
    const data = parsed.data;
    const log = deps.logger.child({
      movementId: data.movementId,
      messageId: data.messageId,
      notificationId: data.notificationId,
    });

    return withSpan(
      'hmrc.fetch_message',
      { 'ctc.movement_id': data.movementId, 'ctc.message_id': data.messageId },
      async () => {
        // The sweep saw this message missing, but a push or the PPNS pull may have stored it
        // since (their ingest runs beside the sweep): then the GET would be a wasted call.
        if (data.source === 'reconcile' && (await alreadyHeld(deps, data))) {
          log.debug('swept message stored meanwhile by push or pull; not fetched');
          return { stored: false, bytes: 0 };
        }
        const owner = await eoriFor(deps, data);
        if (owner === undefined)
          throw new RetryLater(
            'NO_EORI',
            'no EORI is known for this movement and HMRC_DEFAULT_EORI is not set',
          );
        const eori = owner.eori;
        const started = process.hrtime.bigint();
        const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
        // One token, refreshed once if HMRC refuses it; a 429 pauses the hmrc queue and the job
        // comes back without spending an attempt.
        const session = new HmrcSession(deps, traderTokens(deps, eori), {
          onRateLimited: async (error) => {
            deps.metrics.fetchDuration.record(elapsed(), { outcome: error.kind });
            log.warn(
              { retryAfterMs: error.retryAfterMs },
              'HMRC rate limit hit; pausing the hmrc queue',
            );
          },
        });
        const result = await session
          .call((token) =>
            deps.hmrc.ctc.fetchMessageBody({
              messageUri: data.messageUri,
              token,
              maxBytes: deps.config.MAX_MESSAGE_BYTES,
            }),
          )
          .catch((error: unknown) => {
            if (!(error instanceof TokenUnavailable)) throw error;
            throw new RetryLater(
              'NO_TOKEN',
              `no usable HMRC token for ${eori}: ${error.tokenError.message}`,
            );
          });
        const seconds = elapsed();

        if (!result.ok) {
          const error = result.error;
          deps.metrics.fetchDuration.record(seconds, { outcome: error.kind });
          // 404 may be HMRC not having the message visible yet: retried until attempts run out.
          if (error.kind === 'client-error' && error.status === 404)
            throw new RetryLater('NOT_FOUND', error.message);
          failWith(error, 'fetching the message');
        }
        deps.metrics.fetchDuration.record(seconds, { outcome: 'ok' });
        deps.metrics.fetchBytes.record(result.body.length);

        const notificationRef =
          data.notificationId !== null && data.notificationCreatedAt !== null
            ? {
                notificationId: data.notificationId,
                createdAt: new Date(data.notificationCreatedAt),
              }
            : null;
        const parsedBody = await deps.parser.parse(result.body);
        if (!parsedBody.ok) {
          log.warn(
            { errorCode: parsedBody.error.code },
            'fetched message is not usable XML; quarantined',
          );
          await deps.store.store({
            kind: 'quarantine',
            notification: null,
            notificationRef,
            deadLetter: {
              subject: {
                kind: 'fetch-message',
                movementType: data.movementType,
                movementId: data.movementId,
                messageId: data.messageId,
              },
              queue: 'hmrc',
              jobId: job.id ?? null,
              errorCode: parsedBody.error.code,
              errorMessage: parsedBody.error.message,
              history: [
                historyEntry(parsedBody.error.code, parsedBody.error.message, job.attemptsMade + 1),
              ],
              payload: {
                job: data,
                bodyBytes: result.body.length,
                bodyStart: result.body.subarray(0, 4096).toString('utf8'),
              },
              eori,
              movementType: data.movementType,
              movementId: data.movementId,
              messageId: data.messageId,
            },
          });
          return { stored: false, bytes: result.body.length };
        }
        const facts = messageFacts({
          movementType: data.movementType,
          movementId: data.movementId,
          messageId: data.messageId,
          body: result.body,
          parsed: parsedBody,
          source: data.source,
          receivedAt: data.receivedAt !== null ? new Date(data.receivedAt) : new Date(),
          boxId: data.boxId,
          // Filed under HMRC's word only; a token's label is a claim (see connections/verify.ts).
          enrollmentEori: eori,
          enrollmentVerified: owner.reported,
          viaConnection: session.connectionId,
          apiVersion: deps.config.CTC_API_VERSION,
          claimedType: data.messageType,
        });
        const outcome = await deps.store.store({
          kind: 'message',
          notification: null,
          notificationRef,
          ...facts,
        });
        if (outcome.messageStored) await recordFetchRecovery(deps, data, eori);
        if (outcome.messageStored && data.notificationCreatedAt !== null) {
          deps.metrics.createdToStored.record(
            (Date.now() - new Date(data.notificationCreatedAt).getTime()) / 1000,
          );
        }
        log.info(
          {
            bytes: result.body.length,
            stored: outcome.messageStored,
            status: outcome.movementStatus,
          },
          'message fetched',
        );
        return { stored: outcome.messageStored, bytes: result.body.length };
      },
      { parent: data.trace, kind: SpanKind.CLIENT },
    );
  };
}
