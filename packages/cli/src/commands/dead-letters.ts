import type { Command } from 'commander';
import { CliError, emit, exitCodes, fields, need, relative, table, type Context } from '../io.js';
import { followReplay } from './replays.js';
import { pagingOptions, type PagingOptions } from './options.js';

interface FilterOptions {
  kind?: string;
  errorCode?: string;
  from?: string;
  to?: string;
  boxId?: string;
  eori?: string;
  status?: 'open' | 'replayed' | 'resolved' | 'purged';
}

const filterOptions = (command: Command): Command =>
  command
    .option('--kind <kind>', 'what failed: ingest, fetch, submit, …')
    .option('--error-code <code>', 'the error code recorded')
    .option('--from <time>', 'created at or after (ISO 8601)')
    .option('--to <time>', 'created at or before (ISO 8601)')
    .option('--box-id <uuid>', 'PPNS box')
    .option('--eori <eori>', 'trader EORI')
    .option('--status <status>', 'open, replayed, resolved, purged');

const filterOf = (options: FilterOptions) =>
  Object.fromEntries(
    (['kind', 'errorCode', 'from', 'to', 'boxId', 'eori', 'status'] as const)
      .filter((name) => options[name] !== undefined)
      .map((name) => [name, options[name]]),
  ) as FilterOptions;

/** Dead letters: list, show, replay and purge (one, or by filter after a dry run). */
export function deadLettersCommand(program: Command, context: () => Context): void {
  const letters = program
    .command('dead-letters')
    .description('what the pipeline could not process, kept for replay');

  pagingOptions(filterOptions(letters.command('list').description('newest first'))).action(
    async (options: FilterOptions & PagingOptions) => {
      const ctx = context();
      const page = await need(
        ctx,
        'GET /v1/dead-letters',
        ctx.hub.GET('/v1/dead-letters', {
          params: { query: { ...filterOf(options), page: options.page, count: options.count } },
        }),
      );
      emit(
        ctx,
        page,
        () =>
          table(
            ['ID', 'KIND', 'ERROR', 'STATUS', 'EORI', 'SEEN', 'CREATED', 'MESSAGE'],
            page.deadLetters.map((letter) => [
              letter.id,
              letter.kind,
              letter.errorCode,
              letter.status,
              letter.eori,
              letter.occurrences,
              relative(letter.createdAt),
              letter.errorMessage.slice(0, 60),
            ]),
          ) + `${page.deadLetters.length} of ${page.totalCount}\n`,
      );
    },
  );

  letters
    .command('show')
    .argument('<id>', 'dead letter id')
    .description('one dead letter with its payload and error history')
    .action(async (id: string) => {
      const ctx = context();
      const letter = await need(
        ctx,
        `GET /v1/dead-letters/${id}`,
        ctx.hub.GET('/v1/dead-letters/{deadLetterId}', { params: { path: { deadLetterId: id } } }),
      );
      emit(ctx, letter, () =>
        fields([
          ['id', letter.id],
          ['kind', letter.kind],
          ['status', letter.status],
          ['error', `${letter.errorCode}: ${letter.errorMessage}`],
          ['eori', letter.eori],
          ['movement', letter.movementId && `${letter.movementType} ${letter.movementId}`],
          ['message', letter.messageId],
          ['notification', letter.notificationId],
          ['occurrences', letter.occurrences],
          ['created', `${letter.createdAt} (${relative(letter.createdAt)})`],
          ['replayed', letter.replayedAt && `${letter.replayedAt} (${letter.replayCount}×)`],
          ['error history', letter.errorHistory],
          ['payload', letter.payload],
        ]),
      );
    });

  filterOptions(
    letters
      .command('replay')
      .argument('[id]', 'one dead letter; without it, every letter the filter matches')
      .description('replay one dead letter, or those a filter matches (dry run, then confirm)')
      .option('--force', 'replay a letter already replayed whose outcome is not known yet')
      .option('--dry-run', 'only show what would be replayed')
      .option('--yes', 'do not ask before acting (for scripts)')
      .option('--follow', 'follow the replay until it ends'),
  ).action(async (id: string | undefined, options: ActionOptions & { force?: boolean }) => {
    const ctx = context();
    if (id !== undefined) {
      const started = await need(
        ctx,
        `POST /v1/dead-letters/${id}/replay`,
        ctx.hub.POST('/v1/dead-letters/{deadLetterId}/replay', {
          params: { path: { deadLetterId: id } },
          body: options.force ? { force: true } : {},
        }),
      );
      emit(ctx, started, () =>
        started.replayId == null
          ? `${String(started.message ?? 'nothing to replay')}\n`
          : `replay ${String(started.replayId)} started\n`,
      );
      if (options.follow && typeof started.replayId === 'string')
        await followReplay(ctx, started.replayId);
      return;
    }
    await bulk(ctx, 'replay', options);
  });

  filterOptions(
    letters
      .command('purge')
      .argument('[id]', 'one dead letter; without it, every letter the filter matches')
      .description('purge one dead letter, or those a filter matches (dry run, then confirm)')
      .option('--dry-run', 'only show what would be purged')
      .option('--yes', 'do not ask before acting (for scripts)'),
  ).action(async (id: string | undefined, options: ActionOptions) => {
    const ctx = context();
    if (id !== undefined) {
      const purged = await need(
        ctx,
        `DELETE /v1/dead-letters/${id}`,
        ctx.hub.DELETE('/v1/dead-letters/{deadLetterId}', {
          params: { path: { deadLetterId: id } },
        }),
      );
      emit(ctx, purged, () => `dead letter ${id} purged\n`);
      return;
    }
    await bulk(ctx, 'purge', options);
  });
}

interface ActionOptions extends FilterOptions {
  dryRun?: boolean;
  yes?: boolean;
  follow?: boolean;
}

/**
 * The api's two steps: a dry run (count by kind, and a confirmation bound to this filter and
 * set), shown to the operator; then, once they agree (or --yes), the same filter with the
 * confirmation. The api refuses if the set changed in between.
 */
async function bulk(ctx: Context, action: 'replay' | 'purge', options: ActionOptions) {
  const filter = filterOf(options);
  const path = action === 'replay' ? '/v1/dead-letters/replay' : '/v1/dead-letters/purge';
  const dry = await need(
    ctx,
    `POST ${path} (dry run)`,
    ctx.hub.POST(path, { body: { ...filter, dryRun: true } }),
  );
  const count = dry.count ?? 0;
  if (options.dryRun) {
    emit(ctx, dry, () => `${count} dead letters would be ${action}d\n${kinds(dry.byKind)}`);
    return;
  }
  if (count === 0) {
    emit(ctx, { ...dry, done: false }, () => `no dead letters match: nothing to ${action}\n`);
    return;
  }
  if (!ctx.json) ctx.io.out(`${count} dead letters match\n${kinds(dry.byKind)}`);
  if (!options.yes && !(await ctx.io.confirm(`${action} these ${count} dead letters?`)))
    throw new CliError(
      `Nothing was ${action}d (not confirmed; --yes skips the question)`,
      exitCodes.aborted,
    );
  const done = await need(
    ctx,
    `POST ${path}`,
    ctx.hub.POST(path, { body: { ...filter, confirmation: dry.confirmation } }),
  );
  emit(ctx, done, () =>
    action === 'purge'
      ? `${done.purged ?? 0} dead letters purged\n`
      : `replay ${String(done.replayId)} started\n`,
  );
  if (action === 'replay' && options.follow && typeof done.replayId === 'string')
    await followReplay(ctx, done.replayId);
}

function kinds(byKind: Record<string, number> | undefined): string {
  return table(['KIND', 'COUNT'], Object.entries(byKind ?? {}));
}
