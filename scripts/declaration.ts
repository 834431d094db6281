/**
 * `pnpm declaration [--eori GB123456789000] [--out declaration.xml]`: writes an IE015
 * declaration that passes the api's checks (NCTS phase 5 schema, HMRC's business rules), with a
 * fresh LRN each time (HMRC refuses an LRN used before), for the README's example. The EORI is
 * the holder's; send the same one as X-Trader-EORI. `pnpm start` connects GB123456789000.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildMessage } from '@ctc-hub/ncts-testkit';

const { values } = parseArgs({
  options: {
    eori: { type: 'string', default: 'GB123456789000' },
    out: { type: 'string', default: 'declaration.xml' },
  },
});
const eori = values.eori.trim().toUpperCase();
if (!/^[A-Z]{2}[0-9A-Z]{1,15}$/.test(eori)) {
  process.stderr.write(`--eori must be an EORI such as GB123456789000 (got ${values.eori})\n`);
  process.exit(2);
}
const lrn = `DOC${randomBytes(6).toString('hex').toUpperCase()}`;
// pnpm runs scripts in the repository root; write where the command was typed.
const out = path.resolve(process.env.INIT_CWD ?? process.cwd(), values.out);
writeFileSync(out, buildMessage('IE015', { lrn, eori }));
process.stdout.write(
  `wrote ${out}: IE015, LRN ${lrn}, holder ${eori} (send it with X-Trader-EORI: ${eori})\n`,
);
