import type { Command } from 'commander';
import type { Context } from '../io.js';

/**
 * Shell completion: `ctc-hub completion bash` (or zsh) prints a script that asks the CLI itself,
 * through the hidden `__complete` command, what may come next: subcommands and options from the
 * command tree, and for id arguments the ids the api has (dead letters, submissions, EORIs).
 */
const script = (
  shell: 'bash' | 'zsh',
  name: string,
) => `${shell === 'zsh' ? 'autoload -U +X bashcompinit && bashcompinit\n' : ''}_ctc_hub_complete() {
  local IFS=$'\\n'
  COMPREPLY=( $(compgen -W "$(${name} __complete "\${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)" -- "\${COMP_WORDS[COMP_CWORD]}") )
}
complete -F _ctc_hub_complete ${name}
`;

/** Which ids an argument takes, by the argument's name. */
async function idsFor(ctx: Context, argument: string): Promise<string[]> {
  if (argument === 'id') {
    const { data } = await ctx.hub.GET('/v1/dead-letters', { params: { query: { count: 100 } } });
    return data?.deadLetters.map((letter) => letter.id) ?? [];
  }
  if (argument === 'submissionId') {
    const { data } = await ctx.hub.GET('/v1/submissions', { params: { query: { count: 100 } } });
    return data?.submissions.map((submission) => submission.submissionId) ?? [];
  }
  if (argument === 'eori') {
    const { data } = await ctx.hub.GET('/v1/connections');
    return data?.connections.map((connection) => connection.eori) ?? [];
  }
  return [];
}

export function completionCommand(program: Command, context: () => Context): void {
  program
    .command('completion')
    .argument('<shell>', 'bash or zsh')
    .description('print the shell completion script (eval "$(ctc-hub completion bash)")')
    .action((shell: string) => {
      const ctx = context();
      if (shell !== 'bash' && shell !== 'zsh') throw new Error('shell must be bash or zsh');
      ctx.io.out(script(shell, 'ctc-hub'));
    });

  program
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .allowUnknownOption()
    .action(async (words: string[]) => {
      const ctx = context();
      let command: Command = program;
      let positional = 0;
      for (const word of words) {
        const sub = command.commands.find((candidate) => candidate.name() === word);
        if (sub !== undefined) {
          command = sub;
          positional = 0;
        } else if (!word.startsWith('-')) positional += 1;
      }
      const candidates = command.commands
        .filter((sub) => !sub.name().startsWith('__'))
        .map((sub) => sub.name());
      const argument = command.registeredArguments[positional];
      if (argument !== undefined)
        candidates.push(...(await idsFor(ctx, argument.name()).catch(() => [])));
      candidates.push(...command.options.map((option) => option.long ?? '').filter(Boolean));
      ctx.io.out(candidates.length === 0 ? '' : `${candidates.join('\n')}\n`);
    });
}
