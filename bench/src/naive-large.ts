/**
 * The naive large-message path that benchmark 4 (large-messages.ts) compares ours with: what a
 * first implementation would do, with no queue in between.
 *
 *   PPNS push → answer 200 → fetch the body by its URI with `response.text()` → full DOM parse
 *   (fast-xml-parser's XMLParser, a JS object tree) on the main thread → one INSERT of the text →
 *   GET …/body answers `res.send(row.body)` with the whole value read from PostgreSQL.
 *
 * Run by large-messages.ts as a metered child process (`spawnMeteredChild`), like our stack, so
 * that both are measured the same way. Not a benchmark of its own (not in main.ts's list).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { listen } from '@ctc-hub/telemetry';
import express from 'express';
import { createDb } from '@ctc-hub/db';
import { sql } from 'kysely';
import { serveMeteredChild } from './lib.js';

export interface NaiveLargeOptions {
  databaseUrl: string;
  hmrcBaseUrl: string;
  /** A user access token at HMRC (the sandbox) for the trader's EORI. */
  token: string;
}

export interface NaiveLarge {
  url: string;
  stop(): Promise<void>;
}

type XmlParserClass = new (options?: Record<string, unknown>) => { parse(xml: string): unknown };

/** fast-xml-parser is a dependency of @ctc-hub/ncts, not of the bench: loaded from there. */
async function loadXmlParser(): Promise<XmlParserClass> {
  const nctsEntry = createRequire(import.meta.url).resolve('@ctc-hub/ncts');
  const entry = createRequire(nctsEntry).resolve('fast-xml-parser');
  const module = (await import(pathToFileURL(entry).href)) as { XMLParser: XmlParserClass };
  return module.XMLParser;
}

export async function startNaiveLarge(options: NaiveLargeOptions): Promise<NaiveLarge> {
  const XMLParser = await loadXmlParser();
  const db = createDb({ url: options.databaseUrl, poolMax: 4, applicationName: 'naive-large' });
  await sql`CREATE TABLE IF NOT EXISTS naive_large_messages (
    movement_id text NOT NULL, message_id text NOT NULL, root text NOT NULL, body text NOT NULL,
    PRIMARY KEY (movement_id, message_id))`.execute(db);

  const ingest = async (messageUri: string): Promise<void> => {
    const response = await fetch(`${options.hmrcBaseUrl}${messageUri}/body`, {
      headers: {
        accept: 'application/vnd.hmrc.2.1+xml',
        authorization: `Bearer ${options.token}`,
      },
    });
    if (response.status !== 200) throw new Error(`HMRC answered ${response.status}`);
    const text = await response.text();
    const tree = new XMLParser({ ignoreAttributes: false }).parse(text) as Record<string, unknown>;
    const root = Object.keys(tree).find((key) => key !== '?xml') ?? '';
    const [, movementId, messageId] = /\/movements\/\w+\/(\w+)\/messages\/(\w+)$/.exec(messageUri)!;
    await sql`INSERT INTO naive_large_messages (movement_id, message_id, root, body)
      VALUES (${movementId}, ${messageId}, ${root}, ${text}) ON CONFLICT DO NOTHING`.execute(db);
  };

  const app = express();
  app.post('/ppns/callback', express.json({ limit: '1mb' }), (request, response) => {
    response.status(200).json({ status: 'accepted' });
    const envelope = request.body as { message?: string };
    const message = JSON.parse(envelope.message ?? '{}') as { messageUri?: string };
    if (message.messageUri === undefined) return;
    ingest(message.messageUri).catch((error: unknown) => {
      process.stderr.write(`naive ingest failed: ${String(error)}\n`);
    });
  });
  app.get('/messages/:movementId/:messageId/body', (request, response, next) => {
    sql<{ body: string }>`SELECT body FROM naive_large_messages
      WHERE movement_id = ${request.params.movementId} AND message_id = ${request.params.messageId}`
      .execute(db)
      .then((result) => {
        const row = result.rows[0];
        if (row === undefined) response.status(404).end();
        else response.type('application/xml').send(row.body);
      })
      .catch(next);
  });
  const server = await listen(app, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${server.port}`,
    stop: async () => {
      server.server.closeAllConnections();
      await new Promise<void>((resolve) => server.server.close(() => resolve()));
      await db.destroy();
    },
  };
}

/** Child-process entry, started by large-messages.ts with the options in NAIVE_LARGE_OPTIONS. */
if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const naive = await startNaiveLarge(
    JSON.parse(process.env.NAIVE_LARGE_OPTIONS ?? '{}') as NaiveLargeOptions,
  );
  await serveMeteredChild({}, { url: naive.url });
  await naive.stop();
  process.exit(0);
}
