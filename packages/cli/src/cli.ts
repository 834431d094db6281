import { createInterface } from 'node:readline/promises';
import { createHubClient } from '@ctc-hub/client';
import { Command, CommanderError } from 'commander';
import { completionCommand } from './commands/completion.js';
import { deadLettersCommand } from './commands/dead-letters.js';
import { eventsCommand } from './commands/events.js';
import { healthCommand } from './commands/health.js';
import { replaysCommand } from './commands/replays.js';
import { submissionsCommand } from './commands/submissions.js';
import { tradersCommand } from './commands/traders.js';
import { CliError, exitCodes, type Context, type Io } from './io.js';

/**
 * `ctc-hub …` (`pnpm ctc …`): the operator's commands over the api, with CTC_HUB_URL (default
 * http://localhost:8081) and CTC_HUB_API_KEY from the environment. Tables for people, --json
 * for scripts; the exit codes are in io.ts.
 */

export const defaultUrl = 'http://localhost:8081';

function buildProgram(io: Io, state: { json: boolean }): Command {
  const program = new Command('ctc-hub')
    .description("ctc-hub's operator CLI (CTC_HUB_URL, CTC_HUB_API_KEY from the environment)")
    .option('--json', 'JSON output, for scripts')
    .option('--url <url>', 'the api (default: CTC_HUB_URL, else ' + defaultUrl + ')')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 failure, 2 usage, 3 not found, 4 not allowed, 5 refused by the api,\n' +
        '6 api unreachable or failing, 7 unhealthy, 8 not confirmed.\n',
    );
  let ctx: Context | undefined;
  const context = (): Context => {
    if (ctx !== undefined) return ctx;
    const options = program.opts<{ json?: boolean; url?: string }>();
    const baseUrl = options.url ?? io.env.CTC_HUB_URL ?? defaultUrl;
    const apiKey = io.env.CTC_HUB_API_KEY;
    state.json = options.json === true;
    ctx = {
      io,
      baseUrl,
      json: state.json,
      hub: createHubClient({ baseUrl, ...(apiKey !== undefined && apiKey !== '' && { apiKey }) }),
    };
    return ctx;
  };
  tradersCommand(program, context);
  deadLettersCommand(program, context);
  replaysCommand(program, context);
  submissionsCommand(program, context);
  healthCommand(program, context);
  eventsCommand(program, context);
  completionCommand(program, context);
  return program;
}

/** Runs one command line; resolves to its exit code (never exits the process itself). */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const state = { json: false };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; everything else commander refuses is a usage error.
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (error instanceof CliError) {
      if (error.message !== '')
        io.err(
          state.json
            ? `${JSON.stringify({ error: error.message, exitCode: error.exitCode })}\n`
            : `${error.message}\n`,
        );
      return error.exitCode;
    }
    io.err(`${(error as Error).message}\n`);
    return exitCodes.failure;
  }
}

/** The process's own streams and environment. */
export function processIo(): Io {
  return {
    env: process.env,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    isTty: process.stdout.isTTY === true,
    confirm: async (question) => {
      if (process.stdin.isTTY !== true) return false;
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await prompt.question(`${question} [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        prompt.close();
      }
    },
  };
}
