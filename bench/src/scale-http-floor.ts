/**
 * The floor of an HTTP read, for bench/src/scale.ts's point reads: a bare node:http server (no
 * Express, no middleware, no Kysely) answering one movement by id with the same single pg query
 * on a pool of 10, loaded by the same worker-thread HTTP client as the api side. Whatever the
 * api does on top, a request cannot cost less than this.
 *
 *   SCALE_DB=<a seeded scale database> pnpm exec tsx bench/src/scale-http-floor.ts
 */
import { createServer } from 'node:http';
import { createPool } from '@ctc-hub/db';
import { httpLoad, withCpu } from './scale-reads.js';
const pool = createPool({
  url: `postgres://postgres@127.0.0.1:5432/${process.env.SCALE_DB}`,
  poolMax: 10,
});
const ids = (
  await pool.query(`SELECT movement_id FROM movements WHERE movement_type='departure' LIMIT 64`)
).rows.map((row: { movement_id: string }) => row.movement_id);
const server = createServer(async (req, res) => {
  const id = req.url!.split('/').pop();
  const r = await pool.query(
    `select movement_type, movement_id, enrollment_eori, movement_eori, mrn, lrn, box_id, request_id, status, retention_month, created_at, updated_at from movements where movement_type = $1 and movement_id = $2`,
    ['departure', id],
  );
  const row = r.rows[0];
  const body = JSON.stringify({
    _links: { self: { href: `/x/${row.movement_id}` } },
    id: row.movement_id,
    mrn: row.mrn,
    lrn: row.lrn,
    created: row.created_at.toISOString(),
    updated: row.updated_at.toISOString(),
    e: row.enrollment_eori,
  });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as { port: number }).port;
for (let i = 0; i < 2; i++) {
  const f = await withCpu(pool, () =>
    httpLoad(
      `http://127.0.0.1:${port}`,
      ids.map((id) => `/m/${id}`),
      {},
      32,
      4000,
    ),
  );
  console.log(JSON.stringify(f));
}
server.close();
await pool.end();
