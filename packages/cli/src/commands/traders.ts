import type { Command } from 'commander';
import { emit, fields, need, relative, table, type Context } from '../io.js';

/** Traders (/v1/traders): token state, consent expiry, last HMRC call, what to fix. */
export function tradersCommand(program: Command, context: () => Context): void {
  const traders = program.command('traders').description("traders' connections to HMRC");

  traders
    .command('list')
    .description('every trader: token state, consent expiry, last HMRC call, what needs action')
    .option('--needs-action', 'only traders that need someone to act')
    .action(async (options: { needsAction?: boolean }) => {
      const ctx = context();
      const page = await need(
        ctx,
        'GET /v1/traders',
        ctx.hub.GET('/v1/traders', {
          params: { query: { count: 500, ...(options.needsAction && { needsAction: 'true' }) } },
        }),
      );
      emit(ctx, page.traders, () =>
        table(
          ['EORI', 'TOKEN', 'CONSENT EXPIRES', 'LAST HMRC CALL', 'FIX'],
          page.traders.map((t) => [
            t.eori,
            t.tokenState,
            t.consent === null
              ? null
              : `${t.consent.expiresAt.slice(0, 10)} (${relative(t.consent.expiresAt)})`,
            t.lastHmrcCall === null
              ? null
              : `${t.lastHmrcCall.outcome} ${relative(t.lastHmrcCall.at)} (${t.lastHmrcCall.what})`,
            t.attention[0]?.fix,
          ]),
        ),
      );
    });

  traders
    .command('show')
    .argument('<eori>', 'the EORI')
    .description('one trader: token state, consent, last HMRC call, what to do about it')
    .action(async (eori: string) => {
      const ctx = context();
      const t = await need(
        ctx,
        `GET /v1/traders/${eori}`,
        ctx.hub.GET('/v1/traders/{eori}', { params: { path: { eori } } }),
      );
      emit(ctx, t, () =>
        fields([
          ['eori', t.eori],
          ['token state', t.tokenState],
          ['connected', t.connectedAt && `${t.connectedAt} (${relative(t.connectedAt)})`],
          [
            'consent expires',
            t.consent && `${t.consent.expiresAt} (${relative(t.consent.expiresAt)})`,
          ],
          ['last HMRC call', t.lastHmrcCall],
          ['needs action', t.needsAction ? 'yes' : 'no'],
          ...t.attention.map((a): [string, unknown] => [a.severity, `${a.problem} ${a.fix}`]),
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
