/**
 * `pnpm demo` (with `pnpm start` running): connects two traders through the OAuth flow and makes
 * the HMRC sandbox's NCTS send the messages of several departures and arrivals — small ones
 * inline in the PPNS push, large ones (> 80,000 bytes) fetched by URI — then shows what a client
 * reads back from our api.
 *
 * Settings: API_URL (default http://127.0.0.1:8081), SANDBOX_URL (http://127.0.0.1:8090),
 * DEMO_API_KEY (dev-api-key).
 */
import { randomBytes } from 'node:crypto';
import { connectEori } from './stack.js';

const apiUrl = process.env.API_URL ?? 'http://127.0.0.1:8081';
const sandboxUrl = process.env.SANDBOX_URL ?? 'http://127.0.0.1:8090';
const apiKey = process.env.DEMO_API_KEY ?? 'dev-api-key';
const traders = ['GB123456789000', 'XI987654321000'] as const;

type Kind = 'departure' | 'arrival';
interface Step {
  messageType: string;
  size?: number;
}
interface Scenario {
  kind: Kind;
  eori: string;
  title: string;
  steps: Step[];
}

const scenarios: Scenario[] = [
  {
    kind: 'departure',
    eori: traders[0],
    title: 'declared, MRN allocated, released',
    steps: [{ messageType: 'IE928' }, { messageType: 'IE028' }, { messageType: 'IE029' }],
  },
  {
    kind: 'departure',
    eori: traders[0],
    title: 'large release for transit (250 KB, fetched by URI)',
    steps: [
      { messageType: 'IE928' },
      { messageType: 'IE028' },
      { messageType: 'IE029', size: 250_000 },
    ],
  },
  {
    kind: 'departure',
    eori: traders[1],
    title: 'under control, then released',
    steps: [
      { messageType: 'IE928' },
      { messageType: 'IE028' },
      { messageType: 'IE060' },
      { messageType: 'IE029' },
    ],
  },
  {
    kind: 'departure',
    eori: traders[1],
    title: 'rejected by the office of departure',
    steps: [{ messageType: 'IE056' }],
  },
  {
    kind: 'departure',
    eori: traders[0],
    title: 'released and written off',
    steps: [{ messageType: 'IE028' }, { messageType: 'IE029' }, { messageType: 'IE045' }],
  },
  {
    kind: 'arrival',
    eori: traders[0],
    title: 'unloading permission, goods released',
    steps: [{ messageType: 'IE043' }, { messageType: 'IE025' }],
  },
  {
    kind: 'arrival',
    eori: traders[1],
    title: 'large unloading permission (1.2 MB, fetched by URI)',
    steps: [{ messageType: 'IE043', size: 1_200_000 }, { messageType: 'IE025' }],
  },
  {
    kind: 'arrival',
    eori: traders[0],
    title: 'arrival rejected',
    steps: [{ messageType: 'IE057' }],
  },
];

const collection = (kind: Kind) => (kind === 'departure' ? 'departures' : 'arrivals');
const hex16 = () => randomBytes(8).toString('hex');

async function api(path: string): Promise<any> {
  const response = await fetch(`${apiUrl}${path}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  if (!response.ok)
    throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

async function inject(kind: Kind, movementId: string, eori: string, step: Step): Promise<void> {
  const response = await fetch(
    `${sandboxUrl}/test/customs/transits/movements/${collection(kind)}/${movementId}/messages`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sandbox-eori': eori },
      body: JSON.stringify(step),
    },
  );
  if (response.status !== 201)
    throw new Error(`sandbox injection answered ${response.status}: ${await response.text()}`);
}

async function main(): Promise<void> {
  try {
    await fetch(`${apiUrl}/healthz`);
  } catch {
    process.stderr.write(`No api at ${apiUrl}: start the stack first with \`pnpm start\`.\n`);
    process.exit(1);
  }
  for (const eori of traders) {
    await connectEori({ apiUrl, apiKey }, eori);
    process.stdout.write(`connected ${eori} to the HMRC sandbox (OAuth authorization code flow)\n`);
  }

  const movements = scenarios.map((scenario) => ({ ...scenario, id: hex16() }));
  // NCTS answers arrive over time, movements interleaved, as in real life.
  const rounds = Math.max(...scenarios.map((scenario) => scenario.steps.length));
  for (let round = 0; round < rounds; round += 1) {
    await Promise.all(
      movements.map(async (movement) => {
        const step = movement.steps[round];
        if (step !== undefined) await inject(movement.kind, movement.id, movement.eori, step);
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  const expected = movements.reduce((sum, movement) => sum + movement.steps.length, 0);
  const deadline = Date.now() + 60_000;
  let stored = 0;
  while (Date.now() < deadline) {
    const counts = await Promise.all(
      movements.map(
        async (movement) =>
          (
            await api(
              `/customs/transits/movements/${collection(movement.kind)}/${movement.id}/messages`,
            )
          ).totalCount as number,
      ),
    );
    stored = counts.reduce((sum, count) => sum + count, 0);
    if (stored >= expected) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  process.stdout.write(
    `\n${stored} of ${expected} NCTS messages stored. Movements as the read api shows them:\n\n`,
  );
  for (const movement of movements) {
    const summary = await api(
      `/customs/transits/movements/${collection(movement.kind)}/${movement.id}`,
    );
    const messages = await api(
      `/customs/transits/movements/${collection(movement.kind)}/${movement.id}/messages`,
    );
    const types = [...messages.messages]
      .reverse()
      .map((message: { type?: string }) => message.type ?? '?')
      .join(' → ');
    process.stdout.write(
      `  ${movement.kind.padEnd(9)} ${movement.id}  ${String(summary.status).padEnd(16)} ${summary.enrollmentEORINumber}  ${types}\n      ${movement.title}\n`,
    );
  }
  const large = movements[1]!;
  const largeMessages = await api(`/customs/transits/movements/departures/${large.id}/messages`);
  const release = largeMessages.messages.find(
    (message: { type?: string }) => message.type === 'IE029',
  );
  process.stdout.write(`
Look at:
  curl -H 'Authorization: Bearer ${apiKey}' ${apiUrl}/customs/transits/movements/departures
  curl -H 'Authorization: Bearer ${apiKey}' ${apiUrl}/customs/transits/movements/departures/${large.id}/messages
  curl -H 'Authorization: Bearer ${apiKey}' ${apiUrl}/customs/transits/movements/departures/${large.id}/messages/${release?.id ?? '<messageId>'}/body | head -c 400
  curl -H 'Authorization: Bearer ${apiKey}' '${apiUrl}/v1/messages?messageType=IE029'
  curl ${apiUrl.replace(':8081', ':8082')}/metrics | grep ctc_ingest
`);
  if (stored < expected) process.exit(1);
}

await main();
