import type { Command } from 'commander';
import { CliError, exitCodeForStatus, exitCodes, type Context } from '../io.js';

/**
 * `events tail`: the change feed as it happens (GET /v1/events/stream, Server-Sent Events), one
 * line per event (--json: the event JSON). Starts at the end (`now`) unless --after is given;
 * --limit ends after that many events.
 */
export function eventsCommand(program: Command, context: () => Context): void {
  const events = program.command('events').description('the change feed');
  events
    .command('tail')
    .description('print events as they happen (Server-Sent Events)')
    .option(
      '--after <cursor>',
      'start after this cursor (default: now; "" = from the beginning)',
      'now',
    )
    .option('--limit <n>', 'stop after n events', (value) => Number(value))
    .action(async (options: { after: string; limit?: number }) => {
      const ctx = context();
      const url = new URL('/v1/events/stream', ctx.baseUrl);
      if (options.after !== '') url.searchParams.set('after', options.after);
      const abort = new AbortController();
      const key = ctx.io.env.CTC_HUB_API_KEY;
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { accept: 'text/event-stream', ...(key && { authorization: `Bearer ${key}` }) },
          signal: abort.signal,
        });
      } catch (error) {
        throw new CliError(
          `Cannot reach the api at ${ctx.baseUrl} (${(error as Error).message})`,
          exitCodes.unavailable,
        );
      }
      if (!response.ok || response.body === null) {
        const text = await response.text();
        throw new CliError(
          `GET /v1/events/stream: ${response.status}: ${text}`,
          exitCodeForStatus(response.status),
        );
      }
      let seen = 0;
      let buffer = '';
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trimStart())
              .join('\n');
            if (data === '') continue; // heartbeat or comment
            const event = JSON.parse(data) as {
              kind: string;
              createdAt: string;
              eori: string | null;
              movementType: string | null;
              movementId: string | null;
              messageId: string | null;
              submissionId: string | null;
            };
            ctx.io.out(
              ctx.json
                ? `${data}\n`
                : `${event.createdAt}  ${event.kind.padEnd(22)} ${event.eori ?? '-'}  ${
                    event.movementId ? `${event.movementType} ${event.movementId}` : ''
                  }${event.messageId ? ` message ${event.messageId}` : ''}${
                    event.submissionId ? ` submission ${event.submissionId}` : ''
                  }\n`,
            );
            seen += 1;
            if (options.limit !== undefined && seen >= options.limit) {
              abort.abort();
              return;
            }
          }
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        throw error;
      }
    });
}
