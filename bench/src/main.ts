/**
 * `pnpm bench` runs every benchmark, each in its own process one after another (so none of them
 * shares a CPU with another), and writes the reports to bench/results/<date>[-quick].json and a
 * Markdown summary next to it. `pnpm bench:quick` is the smoke that CI runs (a few minutes): same code
 * paths and correctness checks, small counts; its figures are not the published ones.
 *
 *   pnpm bench [--quick] [receiver ingest …]   (ids: the file names in bench/src)
 *
 * Exit code 1 when a benchmark failed a correctness check (or crashed); missed speed targets are
 * listed but do not fail the run, since a loaded CI machine says little about speed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineInfo, type BenchReport } from './report.js';

/** In the order of the issue (docs/BENCHMARKS.md follows it). */
export const benchmarks = [
  'receiver',
  'ingest',
  'freshness',
  'large-messages',
  'submissions',
  'xsd-validation',
  'scale',
  'footprint',
  'catch-up',
  'hmrc-compat',
] as const;

/**
 * Run only when named (`pnpm bench replica-lag`): they start servers of their own (a PostgreSQL
 * primary and its streaming replica) and measure infrastructure rather than the hub's code.
 */
export const optInBenchmarks = ['replica-lag'] as const;

const quick = process.argv.includes('--quick');
const selected = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const known: readonly string[] = [...benchmarks, ...optInBenchmarks];
for (const id of selected)
  if (!known.includes(id)) throw new Error(`unknown benchmark ${id}; known: ${known.join(', ')}`);
const ids = selected.length > 0 ? selected : [...benchmarks];

function runOne(id: string): Promise<{ report?: BenchReport; error?: string; seconds: number }> {
  const started = Date.now();
  const script = fileURLToPath(new URL(`./${id}.ts`, import.meta.url));
  const args = ['--import', 'tsx', script, ...(quick ? ['--quick'] : [])];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      if (code !== 0) return resolve({ error: `exited with ${code}`, seconds });
      try {
        resolve({ report: JSON.parse(output) as BenchReport, seconds });
      } catch {
        resolve({ error: `printed no JSON report: ${output.slice(0, 200)}`, seconds });
      }
    });
  });
}

const reports: BenchReport[] = [];
const failures: string[] = [];
const lines: string[] = [];
for (const id of ids) {
  process.stderr.write(`\n== bench ${id}${quick ? ' (quick)' : ''}\n`);
  const outcome = await runOne(id);
  if (outcome.report === undefined) {
    failures.push(`${id}: ${outcome.error}`);
    lines.push(`| ${id} | FAILED: ${outcome.error} | | | |`);
    continue;
  }
  reports.push(outcome.report);
  for (const target of outcome.report.targets)
    lines.push(
      `| ${outcome.report.title} | ${target.what} | ${target.target} | ${target.measured} | ${
        target.met ? 'met' : 'missed'
      } |`,
    );
  process.stderr.write(`== ${id}: ${outcome.seconds} s\n`);
}

const date = new Date().toISOString().slice(0, 10);
const machine = machineInfo();
const summary = [
  `# Benchmark run ${date}${quick ? ' (quick)' : ''}`,
  '',
  `${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}`,
  '',
  '| benchmark | what | target | measured | |',
  '|---|---|---|---|---|',
  ...lines,
  '',
].join('\n');
const directory = fileURLToPath(new URL('../results/', import.meta.url));
mkdirSync(directory, { recursive: true });
const name = `${date}${quick ? '-quick' : ''}`;
writeFileSync(`${directory}${name}.json`, `${JSON.stringify({ machine, reports }, null, 2)}\n`);
writeFileSync(`${directory}${name}.md`, summary);
process.stdout.write(summary);
if (failures.length > 0) {
  process.stderr.write(`\nbenchmarks failed:\n  ${failures.join('\n  ')}\n`);
  process.exit(1);
}
