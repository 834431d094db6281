/**
 * `pnpm demo` (with `pnpm start` running): connects two traders through the OAuth flow, then
 *  1. sends declarations and an arrival through our api, as a freight forwarder's system would,
 *     and follows each to the end of its NCTS lifecycle, every answer arriving by PPNS push and
 *     linked to its submission by movement, box and request;
 *  2. makes the sandbox's NCTS send the messages of more departures and arrivals — small ones
 *     inline in the push, large ones (> 80,000 bytes) fetched by URI;
 * then shows what a client reads back from our api.
 *
 * Settings: API_URL (default http://127.0.0.1:8081), SANDBOX_URL (http://127.0.0.1:8090),
 * DEMO_API_KEY (dev-api-key).
 */
import { randomBytes } from 'node:crypto';
import { createHubClient } from '@ctc-hub/client';
import { buildMessage } from '@ctc-hub/ncts-testkit';
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

/**
 * Our api, through the typed client generated from its OpenAPI document. Movements are read
 * through ctc-hub's own views (/v1/{departures|arrivals}/{id}: HMRC's fields plus the derived
 * status, any Accept header).
 */
const hub = createHubClient({ baseUrl: apiUrl, apiKey });

/** The data of a typed call, or an error naming the call and the api's answer. */
async function data<T>(
  what: string,
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data: value, error, response } = await call;
  if (value === undefined)
    throw new Error(`${what} answered ${response.status}: ${JSON.stringify(error)}`);
  return value;
}

const submissionView = (submissionId: string) =>
  data(
    `GET /v1/submissions/${submissionId}`,
    hub.GET('/v1/submissions/{submissionId}', { params: { path: { submissionId } } }),
  );

function movementView(kind: Kind, id: string) {
  return kind === 'departure'
    ? data(
        `GET departure ${id}`,
        hub.GET('/v1/departures/{departureId}', {
          params: { path: { departureId: id } },
        }),
      )
    : data(
        `GET arrival ${id}`,
        hub.GET('/v1/arrivals/{arrivalId}', {
          params: { path: { arrivalId: id } },
        }),
      );
}

function movementMessages(kind: Kind, id: string) {
  return kind === 'departure'
    ? data(
        `GET departure ${id} messages`,
        hub.GET('/v1/departures/{departureId}/messages', {
          params: { path: { departureId: id } },
        }),
      )
    : data(
        `GET arrival ${id} messages`,
        hub.GET('/v1/arrivals/{arrivalId}/messages', {
          params: { path: { arrivalId: id } },
        }),
      );
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

/** Declarations are XML: sent as they are, not as JSON. */
const xmlBody = (xml: string, headers: Record<string, string> = {}) => ({
  body: xml,
  bodySerializer: (body: string) => body,
  headers: { 'content-type': 'application/xml', ...headers },
});

async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Part 1: declarations sent through ctc-hub, followed to the end of their lifecycle. */
async function submissions(): Promise<void> {
  const stamp = randomBytes(3).toString('hex').toUpperCase();
  const declarations = [
    { title: 'declaration, released', lrn: `DEMO${stamp}A`, final: 'IE029' },
    { title: 'declaration, controlled then released', lrn: `CTL${stamp}B`, final: 'IE029' },
    { title: 'declaration rejected by NCTS (IE056)', lrn: `REJ${stamp}C`, final: 'IE056' },
    {
      // A guarantee HMRC's Trader Test holds as revoked: the guarantee check fails.
      title: 'declaration, release refused: guarantee check failed (IE055, IE051)',
      lrn: `DEMO${stamp}D`,
      final: 'IE051',
      grn: '23GB00000100000D0',
    },
  ];
  const sent = [];
  for (const declaration of declarations) {
    const xml = buildMessage('IE015', {
      lrn: declaration.lrn,
      eori: traders[0],
      ...('grn' in declaration ? { grn: declaration.grn } : {}),
    });
    const created = await data(
      'POST /v1/departures',
      hub.POST('/v1/departures', xmlBody(xml, { 'idempotency-key': `demo-${declaration.lrn}` })),
    );
    sent.push({ ...declaration, submissionId: created.submissionId as string });
  }
  const arrivalXml = buildMessage('IE007', { eori: traders[1] });
  const arrival = await data('POST /v1/arrivals', hub.POST('/v1/arrivals', xmlBody(arrivalXml)));
  process.stdout.write(
    `sent ${sent.length} declarations and 1 arrival notification through POST /v1/departures and /v1/arrivals\n`,
  );

  // The arrival's unloading remarks (IE044) go once NCTS has given unloading permission (IE043).
  const arrivalDone = await waitUntil('unloading permission', async () => {
    const view = await submissionView(arrival.submissionId);
    return view.messages.some((message) => message.type === 'IE043') ? view : undefined;
  });
  const remarks = buildMessage('IE044', {
    eori: traders[1],
    mrn:
      arrivalDone.movementReferenceNumber ??
      arrivalDone.movement?.movementReferenceNumber ??
      undefined,
  });
  const remarksSubmission = await data(
    'POST /v1/arrivals/{arrivalId}/messages',
    hub.POST('/v1/arrivals/{arrivalId}/messages', {
      params: { path: { arrivalId: arrivalDone.movementId! } },
      ...xmlBody(remarks),
    }),
  );

  const views = await Promise.all(
    [
      ...sent.map((entry) => ({ id: entry.submissionId, final: entry.final, title: entry.title })),
      {
        id: remarksSubmission.submissionId,
        final: 'IE025',
        title: 'arrival: unloading remarks, goods released',
      },
    ].map((entry) =>
      waitUntil(`submission ${entry.id}`, async () => {
        const view = await submissionView(entry.id);
        return view.messages.some((message) => message.type === entry.final)
          ? { ...view, title: entry.title }
          : undefined;
      }),
    ),
  );
  process.stdout.write('\nSubmissions and the NCTS answers pushed for them:\n\n');
  for (const view of views) {
    const types = view.messages
      .map((message) => (message.direction === 'outbound' ? `${message.type}(sent)` : message.type))
      .join(' → ');
    process.stdout.write(
      `  ${view.submissionId}  ${String(view.status).padEnd(8)} ${view.messageType}  LRN ${view.localReferenceNumber ?? '-'}\n` +
        `      ${view.title}\n      movement ${view.movement?.type} ${view.movementId} status ${view.movement?.status}, box ${view.movement?.boxId}, request ${view.requestId}\n      ${types}\n`,
    );
  }
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

  await submissions();

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
        async (movement) => (await movementMessages(movement.kind, movement.id)).totalCount,
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
    const summary = await movementView(movement.kind, movement.id);
    const messages = await movementMessages(movement.kind, movement.id);
    const types = [...messages.messages]
      .reverse()
      .map((message) => message.type ?? '?')
      .join(' → ');
    process.stdout.write(
      `  ${movement.kind.padEnd(9)} ${movement.id}  ${String(summary.status).padEnd(16)} ${summary.enrollmentEORINumber}  ${types}\n      ${movement.title}\n`,
    );
  }
  const large = movements[1]!;
  const largeMessages = await movementMessages('departure', large.id);
  const release = largeMessages.messages.find((message) => message.type === 'IE029');
  process.stdout.write(`
Look at:
  curl -H 'Authorization: Bearer ${apiKey}' ${apiUrl}/v1/submissions
  curl -H 'Authorization: Bearer ${apiKey}' ${apiUrl}/v1/submissions/<submissionId>
  curl -H 'Authorization: Bearer ${apiKey}' -H 'Accept: application/vnd.hmrc.2.1+json' ${apiUrl}/customs/transits/movements/departures
  curl -H 'Authorization: Bearer ${apiKey}' -H 'Accept: application/vnd.hmrc.2.1+json' ${apiUrl}/customs/transits/movements/departures/${large.id}/messages
  curl -H 'Authorization: Bearer ${apiKey}' -H 'Accept: application/vnd.hmrc.2.1+xml' ${apiUrl}/customs/transits/movements/departures/${large.id}/messages/${release?.id ?? '<messageId>'}/body | head -c 400
  curl -H 'Authorization: Bearer ${apiKey}' ${apiUrl}/v1/departures/${large.id}
  curl -H 'Authorization: Bearer ${apiKey}' '${apiUrl}/v1/messages?messageType=IE029'
  curl ${apiUrl.replace(':8081', ':8082')}/metrics | grep ctc_ingest
  ${apiUrl}/docs in a browser: every route, from ${apiUrl}/openapi.json
  CTC_HUB_URL=${apiUrl} CTC_HUB_API_KEY=${apiKey} pnpm ctc submissions list
`);
  if (stored < expected) process.exit(1);
}

await main();
