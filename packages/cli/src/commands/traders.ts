import type { Command } from 'commander';
import { emit, fields, need, relative, table, type Context } from '../io.js';

/**
 * Traders and their HMRC connections, from /v1/connections (consent expiry, whether the hub may
 * act for them, what to fix). Switch to /v1/traders once it exists: it adds the last HMRC call.
 */
export function tradersCommand(program: Command, context: () => Context): void {
  const traders = program.command('traders').description("traders' connections to HMRC");

  traders
    .command('list')
    .description('every connected EORI: state, consent expiry, whether its tokens may be used')
    .action(async () => {
      const ctx = context();
      const { connections } = await need(
        ctx,
        'GET /v1/connections',
        ctx.hub.GET('/v1/connections'),
      );
      emit(ctx, connections, () =>
        table(
          ['EORI', 'STATE', 'MAY ACT', 'CONSENT EXPIRES', 'CONNECTED', 'FIX'],
          connections.map((c) => [
            c.eori,
            c.state,
            c.mayAct ? 'yes' : 'no',
            `${c.consentExpiresAt.slice(0, 10)} (${relative(c.consentExpiresAt)})`,
            relative(c.connectedAt),
            c.fix,
          ]),
        ),
      );
    });

  traders
    .command('show')
    .argument('<eori>', 'the EORI')
    .description("one EORI's connection, token state and what to do about it")
    .action(async (eori: string) => {
      const ctx = context();
      const connection = await need(
        ctx,
        `GET /v1/connections/${eori}`,
        ctx.hub.GET('/v1/connections/{eori}', { params: { path: { eori } } }),
      );
      emit(ctx, connection, () =>
        fields([
          ['eori', connection.eori],
          ['state', connection.state],
          ['verification', connection.verification],
          ['may act', connection.mayAct ? 'yes' : 'no'],
          ['connected', `${connection.connectedAt} (${relative(connection.connectedAt)})`],
          [
            'consent expires',
            `${connection.consentExpiresAt} (${relative(connection.consentExpiresAt)})`,
          ],
          ['fix', connection.fix],
        ]),
      );
    });

  traders
    .command('connect-link')
    .argument('<eori>', 'the EORI to connect')
    .description('the link a trader opens to connect (or reconnect) their EORI to HMRC')
    .action((eori: string) => {
      const ctx = context();
      const url = new URL('/oauth/hmrc/start', ctx.baseUrl);
      url.searchParams.set('eori', eori.trim().toUpperCase());
      emit(ctx, { eori: eori.trim().toUpperCase(), url: url.href }, () => `${url.href}\n`);
    });
}
