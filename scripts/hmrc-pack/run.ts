/**
 * `pnpm test:hmrc-pack`: HMRC's phase 5 trader test pack (collections 11B GB and 12B XI) run
 * with newman against ctc-hub with the sandbox behind it (`--target hub`), or straight against
 * the sandbox (`--target sandbox`), and the flow each request name states checked against the
 * movement's messages. README.md beside this file describes what the runner adapts and lists
 * the pack's known faults.
 *
 *   pnpm test:hmrc-pack [--target hub|sandbox] [--pack GB,XI] [--version 2.1,3.0] [--quick]
 *                       [--json <file>]
 *
 * Exit code 1 when an assertion fails that is not a listed fault of the pack.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import newman, { type NewmanRequest, type NewmanResponse, type NewmanRunOptions } from 'newman';
import {
  knownFlowFaults,
  scenarioCode,
  schemaInvalidRequests,
  scriptFaults,
  type Pack,
} from './flows.js';
import { validateHmrcResponse } from '@ctc-hub/testing';
import { prepareCollection, type PostmanCollection } from './prepare.js';
import { startTarget, type Target } from './target.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../packages/testing/fixtures/hmrc-postman');
const files: Record<Pack, string> = {
  GB: '11B_P5_TT_E2E_GB_Small_Messages.postman_collection.json',
  XI: '12B_P5_TT_E2E_XI_Small_Messages.postman_collection.json',
};

export interface AssertionResult {
  pack: Pack;
  version: string;
  scenario: string;
  request: string;
  assertion: string;
  passed: boolean;
  /** Listed in the README: a naming slip (accepted flow), schema-invalid body, or a gap. */
  known?: 'schema-invalid' | 'gap' | 'pack-script' | 'not-phase6';
  /** Why, for not-phase6: the first body the phase 6 schema refused. */
  note?: string;
  error?: string;
}

interface Options {
  target: 'hub' | 'sandbox';
  packs: Pack[];
  versions: string[];
  stepMs: number;
  json?: string;
}

function parseArgs(argv: string[]): Options {
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index === -1 ? undefined : argv[index + 1];
  };
  const quick = argv.includes('--quick');
  return {
    target: (value('--target') ?? 'hub') as Options['target'],
    packs: (value('--pack') ?? 'GB,XI').split(',') as Pack[],
    versions: (value('--version') ?? (quick ? '2.1' : '2.1,3.0')).split(','),
    stepMs: Number(value('--step-ms') ?? (quick ? 60 : 150)),
    json: value('--json'),
  };
}

interface SchemaRefusal {
  folder: string;
  request: string;
  message: string;
}

interface RawAssertion {
  folder: string;
  request: string;
  assertion: string;
  error: string | undefined;
}

const oasCheck = "[runner] HMRC's OAS";

/**
 * Every answer to a CTC Traders call (the pack's own and the runner's polling) checked against
 * HMRC's OAS for the version under test, with HMRC's known deviations (packages/testing
 * hmrc-oas.ts); undefined for calls that are not CTC Traders calls (the sandbox's officer).
 */
function oasProblems(
  version: '2.1' | '3.0',
  request: NewmanRequest,
  response: NewmanResponse,
): string[] | undefined {
  const args = { request, response };
  const path = args.request.url.getPath();
  if (!path.startsWith('/customs/transits/movements')) return undefined;
  const contentType = args.response.headers.get('Content-Type') ?? null;
  const text = Buffer.from(args.response.stream).toString('utf8');
  let body: unknown = text;
  if ((contentType ?? '').includes('json') && text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      return [`${args.response.code}: the body is not the JSON its Content-Type says`];
    }
  }
  return validateHmrcResponse({
    version,
    method: args.request.method,
    path,
    status: args.response.code,
    contentType,
    body,
    accept: args.request.headers.get('Accept') ?? undefined,
  });
}

/** Runs newman and collects each assertion once (pm.sendRequest calls add executions). */
function runNewman(
  options: NewmanRunOptions,
  folders: ReadonlyMap<string, string>,
  version: '2.1' | '3.0',
): Promise<{ assertions: RawAssertion[]; refusals: SchemaRefusal[] }> {
  return new Promise((resolve, reject) => {
    const assertions: RawAssertion[] = [];
    const refusals: SchemaRefusal[] = [];
    newman
      .run(options, (error) => (error ? reject(error) : resolve({ assertions, refusals })))
      .on('request', (error, args) => {
        const item = args.item;
        if (!error && args.response !== undefined) {
          const problems = oasProblems(version, args.request, args.response);
          if (problems !== undefined)
            assertions.push({
              folder: folders.get(item.id ?? '') ?? item.parent()?.name ?? '',
              request: item.name,
              assertion: `${oasCheck} ${version}: ${args.request.method} ${args.request.url.getPath()}`,
              error: problems.length === 0 ? undefined : problems.join('; '),
            });
        }
        // Only the pack's own POSTs (the runner's polling GETs never answer 400 SCHEMA_VALIDATION).
        if (error || args.response?.code !== 400 || args.request.method !== 'POST') return;
        const folder = folders.get(item.id ?? '') ?? item.parent()?.name ?? '';
        try {
          const body = JSON.parse(Buffer.from(args.response.stream).toString('utf8')) as {
            code?: string;
            message?: string;
            validationErrors?: { message?: string }[];
          };
          if (body.code === 'SCHEMA_VALIDATION')
            refusals.push({
              folder,
              request: item.name,
              message: body.validationErrors?.[0]?.message ?? body.message ?? '',
            });
        } catch {
          // not JSON: not a schema refusal
        }
      })
      .on('script', (error, args) => {
        const item = args.item;
        const failure = error ?? args.execution?.error;
        if (failure === undefined || failure === null) return;
        assertions.push({
          folder: item.parent()?.name ?? '',
          request: item.name,
          assertion: `script error (${args.event?.listen ?? 'script'})`,
          error: failure.message,
        });
      })
      .on('assertion', (error, args) => {
        const item = args.item;
        assertions.push({
          folder: item.parent()?.name ?? '',
          request: item.name,
          assertion: args.assertion,
          error: error?.message,
        });
      });
  });
}

export async function runPack(
  target: Target,
  pack: Pack,
  version: string,
  stepMs: number,
): Promise<AssertionResult[]> {
  const source = JSON.parse(
    readFileSync(path.join(fixtures, files[pack]), 'utf8'),
  ) as PostmanCollection;
  const environment = JSON.parse(
    readFileSync(path.join(fixtures, 'CTC_ExternalTest.postman_environment.json'), 'utf8'),
  );
  const runTag = Date.now().toString(36).toUpperCase().slice(-6);
  const { collection, folderOfItem } = prepareCollection(source, pack, { accept: version, runTag });
  // GB addresses {{baseURL}}/movements/…, XI {{baseUrlContext}}/movements/… (and once
  // {{baseURL}}/customs/transits/…): each pack gets the base its requests are written for.
  const api = `${target.apiBase}/customs/transits`;
  const envVars = [
    { key: 'baseURL', value: pack === 'GB' ? api : target.apiBase },
    { key: 'baseUrlContext', value: api },
    { key: 'baseTestUrlContext', value: `${target.apiBase}/test/customs/transits` },
    { key: 'access_token', value: target.token },
    { key: 'pack_api', value: api },
    { key: 'pack_sandbox', value: target.sandboxUrl },
    { key: 'pack_accept', value: `application/vnd.hmrc.${version}+json` },
    { key: 'pack_waitMs', value: String(Math.max(4000, stepMs * 40)) },
    { key: 'pack_settleMs', value: String(stepMs) },
  ];
  const { assertions, refusals } = await runNewman(
    {
      collection,
      environment,
      envVar: envVars,
      reporters: [],
      timeoutRequest: 30_000,
      timeoutScript: 60_000,
    },
    folderOfItem,
    version.startsWith('3') ? '3.0' : '2.1',
  );
  // At 3.0 the pack's phase 5 bodies are checked against the phase 6 schema: a scenario whose
  // bodies fail it cannot be played at 3.0 ("where the bodies allow"), and is reported apart.
  const phase6Invalid = new Map<string, string>();
  if (version.startsWith('3'))
    for (const refusal of refusals) {
      const key = `${pack}/${scenarioCode(refusal.folder)}/${refusal.request}`;
      if (schemaInvalidRequests[key] === undefined)
        phase6Invalid.set(scenarioCode(refusal.folder), `${refusal.request}: ${refusal.message}`);
    }
  const results: AssertionResult[] = [];
  for (const raw of assertions) {
    const scenario = scenarioCode(raw.folder);
    const key = `${pack}/${scenario}/${raw.request}`;
    const passed = raw.error === undefined;
    const isFlow = raw.assertion.startsWith('[runner] flow');
    const known = phase6Invalid.has(scenario)
      ? 'not-phase6'
      : isFlow
        ? knownFlowFaults[key]?.gap
          ? 'gap'
          : undefined
        : schemaInvalidRequests[key] !== undefined
          ? 'schema-invalid'
          : scriptFaults[key] !== undefined
            ? 'pack-script'
            : undefined;
    results.push({
      pack,
      version,
      scenario,
      request: raw.request,
      assertion: raw.assertion,
      passed,
      ...(known !== undefined ? { known } : {}),
      ...(known === 'not-phase6' ? { note: phase6Invalid.get(scenario) } : {}),
      ...(passed ? {} : { error: raw.error }),
    });
  }
  return results;
}

function table(results: AssertionResult[]): string {
  const byScenario = new Map<string, AssertionResult[]>();
  for (const result of results) {
    const key = `${result.pack} ${result.version} ${result.scenario}`;
    byScenario.set(key, [...(byScenario.get(key) ?? []), result]);
  }
  const lines = [
    "| pack | API | scenario | HMRC assertions | flow checks | answers fitting HMRC's OAS | result |",
    '|---|---|---|---|---|---|---|',
  ];
  for (const [key, list] of byScenario) {
    const [pack, version, scenario] = key.split(' ');
    const hmrc = list.filter((result) => !result.assertion.startsWith('[runner]'));
    const flows = list.filter((result) => result.assertion.startsWith('[runner] flow'));
    const oas = list.filter((result) => result.assertion.startsWith(oasCheck));
    const count = (items: AssertionResult[]) =>
      `${items.filter((result) => result.passed).length}/${items.length}`;
    const unexpected = list.filter((result) => !result.passed && result.known === undefined);
    const knownFailures = list.filter((result) => !result.passed && result.known !== undefined);
    const verdict = list.some((result) => result.known === 'not-phase6')
      ? `not playable at ${version}: ${list.find((result) => result.note)?.note ?? ''}`
      : unexpected.length > 0
        ? 'FAIL'
        : knownFailures.length > 0
          ? 'pass (known faults)'
          : 'pass';
    lines.push(
      `| ${pack} | ${version} | ${scenario} | ${count(hmrc)} | ${count(flows)} | ${count(oas)} | ${verdict} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const target = await startTarget(options.target, options.stepMs);
  const results: AssertionResult[] = [];
  try {
    for (const version of options.versions)
      for (const pack of options.packs) {
        const started = Date.now();
        const run = await runPack(target, pack, version, options.stepMs);
        results.push(...run);
        const of = (kind: (result: AssertionResult) => boolean) => {
          const picked = run.filter(kind);
          return `${picked.filter((result) => result.passed).length}/${picked.length}`;
        };
        console.log(
          `${pack} at ${version}: HMRC's assertions ${of((result) => !result.assertion.startsWith('[runner]'))}, ` +
            `flow checks ${of((result) => result.assertion.startsWith('[runner] flow'))}, ` +
            `answers fitting HMRC's OAS ${of((result) => result.assertion.startsWith(oasCheck))} ` +
            `in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }
  } finally {
    await target.stop();
  }
  console.log(table(results));
  const unexpected = results.filter((result) => !result.passed && result.known === undefined);
  for (const failure of unexpected)
    console.log(
      `FAIL ${failure.pack} ${failure.version} ${failure.scenario} / ${failure.request}: ${failure.assertion}: ${failure.error}`,
    );
  if (options.json !== undefined) writeFileSync(options.json, JSON.stringify(results, null, 2));
  process.exitCode = unexpected.length > 0 ? 1 : 0;
}

if (
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === path.resolve(process.argv[1])
)
  await main();
