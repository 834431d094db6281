import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';

export const queuesPath = '/admin/queues';

/**
 * bull-board over the three queues. Read-only unless ADMIN_QUEUE_WRITE is true: bull-board then
 * refuses retry, clean, promote, pause, empty, … (405) and hides their buttons. Even with write
 * access on, a retry is safe by design: every store is idempotent and a submission is checked at
 * HMRC before it is resent.
 */
export function bullBoardRouter(queues: readonly Queue[], writable: boolean): RequestHandler {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(queuesPath);
  createBullBoard({
    queues: queues.map(
      (queue) =>
        new BullMQAdapter(queue, {
          readOnlyMode: !writable,
          allowRetries: writable,
          description: descriptions[queue.name] ?? '',
        }),
    ),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: writable ? 'ctc-hub queues' : 'ctc-hub queues (read-only)',
        miscLinks: [{ text: 'Operations overview', url: '/ops' }],
      },
    },
  });
  const router = Router();
  router.use(withoutRemoteFonts);
  router.use(serverAdapter.getRouter() as RequestHandler);
  return router;
}

/** bull-board's page links Google Fonts; the operator's browser need not call anyone else. */
const remoteStylesheet =
  /<link\b[^>]*href="https?:\/\/(?:fonts\.googleapis\.com|fonts\.gstatic\.com)[^"]*"[^>]*>\s*/g;

export const stripRemoteFonts = (html: string): string => html.replace(remoteStylesheet, '');

/**
 * bull-board renders its one page with res.render(name, params): render it here instead, and
 * send it without the font links (the page then uses the browser's sans-serif and monospace).
 */
const withoutRemoteFonts: RequestHandler = (_request, response, next) => {
  const render = response.render.bind(response);
  response.render = ((view: string, options?: object) => {
    render(view, options ?? {}, (error: Error | null, html?: string) => {
      if (error !== null) next(error);
      else response.type('html').send(stripRemoteFonts(html ?? ''));
    });
  }) as typeof response.render;
  next();
};

const descriptions: Record<string, string> = {
  ingest: 'PPNS notifications accepted by the receiver, waiting to be parsed and stored',
  hmrc: 'Every call to HMRC: message fetches, submissions, reconciliation pages, balance checks',
  ops: 'Background work: reconciliation ticks, bulk dead-letter replays',
};
