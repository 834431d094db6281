import type { Command } from 'commander';
import { emit, fields, need, type Context } from '../io.js';

type Replay = Awaited<ReturnType<typeof readReplay>>;

const readReplay = (ctx: Context, replayId: string) =>
  need(
    ctx,
    `GET /v1/replays/${replayId}`,
    ctx.hub.GET('/v1/replays/{replayId}', { params: { path: { replayId } } }),
  );

const done = (replay: Replay) => replay.status !== 'running' && replay.pending === 0;

/** `[#####.....] 5/10 replayed 4 skipped 1 failed 0` */
function bar(replay: Replay, width = 30): string {
  const finished = replay.replayed + replay.skipped + replay.failed;
  const share = replay.total === 0 ? 1 : finished / replay.total;
  const filled = Math.round(share * width);
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${replay.total}` +
    `  replayed ${replay.replayed}  skipped ${replay.skipped}  failed ${replay.failed}  ${replay.status}`
  );
}

/**
 * Polls the replay until it ends, drawing a progress bar (redrawn in place on a terminal, one
 * line per change otherwise; --json: one JSON line per change).
 */
export async function followReplay(
  ctx: Context,
  replayId: string,
  intervalMs = 500,
): Promise<Replay> {
  let last = '';
  for (;;) {
    const replay = await readReplay(ctx, replayId);
    const line = ctx.json ? JSON.stringify(replay) : bar(replay);
    if (line !== last) {
      if (ctx.json) ctx.io.out(`${line}\n`);
      else if (ctx.io.isTty) ctx.io.out(`\r${line}`);
      else ctx.io.out(`${line}\n`);
      last = line;
    }
    if (done(replay)) {
      if (!ctx.json && ctx.io.isTty) ctx.io.out('\n');
      if (!ctx.json && replay.problems.length > 0)
        ctx.io.out(
          `problems:\n${replay.problems.map((p) => `  ${JSON.stringify(p)}`).join('\n')}\n`,
        );
      return replay;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function replaysCommand(program: Command, context: () => Context): void {
  const replays = program.command('replays').description('replays of dead letters');
  replays
    .command('show')
    .argument('<replayId>', 'replay id')
    .description('where a replay stands')
    .action(async (replayId: string) => {
      const ctx = context();
      const replay = await readReplay(ctx, replayId);
      emit(ctx, replay, () =>
        fields([
          ['replay', replay.replayId],
          ['status', replay.status],
          ['progress', bar(replay)],
          ['requested by', replay.requestedBy],
          ['filter', replay.filter],
          ['created', replay.createdAt],
          ['finished', replay.finishedAt],
          ['problems', replay.problems.length === 0 ? 'none' : replay.problems],
        ]),
      );
    });
  replays
    .command('follow')
    .argument('<replayId>', 'replay id')
    .description('follow a replay until it ends, with a progress bar')
    .option('--interval <ms>', 'how often to look', (value) => Math.max(100, Number(value)), 500)
    .action(async (replayId: string, options: { interval: number }) => {
      await followReplay(context(), replayId, options.interval);
    });
}
