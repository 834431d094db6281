import type { Command } from 'commander';
import { emit, fields, need, relative, table, type Context } from '../io.js';
import { pagingOptions, type PagingOptions } from './options.js';

const statuses = ['queued', 'sending', 'accepted', 'rejected', 'failed'] as const;
type Status = (typeof statuses)[number];

/** Declarations sent through the hub. */
export function submissionsCommand(program: Command, context: () => Context): void {
  const submissions = program.command('submissions').description('declarations sent to HMRC');

  pagingOptions(
    submissions
      .command('list')
      .description('newest first')
      .option('--status <status>', statuses.join(', '))
      .option('--eori <eori>', 'trader EORI')
      .option('--lrn <lrn>', 'local reference number')
      .option('--message-type <type>', 'IE code, e.g. IE015'),
  ).action(
    async (
      options: PagingOptions & {
        status?: Status;
        eori?: string;
        lrn?: string;
        messageType?: string;
      },
    ) => {
      const ctx = context();
      const page = await need(
        ctx,
        'GET /v1/submissions',
        ctx.hub.GET('/v1/submissions', {
          params: {
            query: {
              status: options.status,
              eori: options.eori,
              lrn: options.lrn,
              messageType: options.messageType,
              page: options.page,
              count: options.count,
            },
          },
        }),
      );
      emit(
        ctx,
        page,
        () =>
          table(
            ['SUBMISSION', 'STATUS', 'TYPE', 'EORI', 'LRN', 'MRN', 'ATTEMPTS', 'CREATED'],
            page.submissions.map((s) => [
              s.submissionId,
              s.status,
              s.messageType,
              s.eori,
              s.localReferenceNumber,
              s.movementReferenceNumber,
              s.attemptCount,
              relative(s.createdAt),
            ]),
          ) + `${page.submissions.length} of ${page.totalCount}\n`,
      );
    },
  );

  submissions
    .command('show')
    .argument('<submissionId>', 'submission id')
    .description("one submission: its attempts, HMRC's answer and NCTS's messages since")
    .action(async (submissionId: string) => {
      const ctx = context();
      const s = await need(
        ctx,
        `GET /v1/submissions/${submissionId}`,
        ctx.hub.GET('/v1/submissions/{submissionId}', { params: { path: { submissionId } } }),
      );
      emit(ctx, s, () => {
        const head = fields([
          ['submission', s.submissionId],
          ['status', s.status],
          ['message', `${s.messageType} (${s.movementType})`],
          ['eori', s.eori],
          ['lrn', s.localReferenceNumber],
          ['mrn', s.movementReferenceNumber ?? s.movement?.movementReferenceNumber],
          ['movement', s.movementId],
          ['created', `${s.createdAt} (${relative(s.createdAt)})`],
          ['completed', s.completedAt],
          ['hmrc answer', s.hmrcResponse],
        ]);
        const attempts = s.attempts.map((attempt) => [
          attempt.attempt,
          attempt.at,
          attempt.outcome,
          attempt.httpStatus,
          `${attempt.durationMs} ms`,
          attempt.error,
        ]);
        const messages = s.messages.map((m) => [m.received, m.type, m.direction, m.status]);
        return (
          head +
          '\nattempts\n' +
          table(['#', 'AT', 'OUTCOME', 'HTTP', 'TOOK', 'ERROR'], attempts) +
          '\nmessages\n' +
          table(['RECEIVED', 'TYPE', 'DIRECTION', 'STATUS'], messages)
        );
      });
    });
}
