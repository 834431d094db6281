/**
 * The contract every benchmark in bench/src follows, so that `pnpm bench` (bench/src/main.ts) can
 * run them one after another, each in its own process, and collect one report.
 *
 * A benchmark module exports `bench: Bench` and ends with `await runIfMain(import.meta.url, bench)`.
 * Run alone (`pnpm exec tsx bench/src/<name>.ts [--quick]`) it prints its report as JSON on stdout;
 * progress goes to stderr.
 *
 * Quick mode (`--quick`) is the CI smoke: the same code paths and the same correctness checks,
 * with counts and durations cut so the whole set takes a few minutes. Its figures are not used for
 * the targets. A benchmark throws (exit 1) only when a correctness check fails (a lost or
 * duplicated row, a body not served back byte-identical, an unexpected 5xx); a missed speed
 * target is reported (`met: false`), never thrown.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { pathToFileURL } from 'node:url';

export interface BenchOptions {
  quick: boolean;
}

export interface BenchTarget {
  /** e.g. "receiver throughput vs bare Express" */
  what: string;
  /** e.g. "≥ 0.8×" */
  target: string;
  /** e.g. "0.86× (5,120/s vs 5,950/s)" */
  measured: string;
  met: boolean;
}

export interface BenchReport {
  /** File name without extension, e.g. "receiver". */
  id: string;
  /** e.g. "1. Receiver vs bare Express" */
  title: string;
  quick: boolean;
  /** Everything measured, as plain JSON (percentiles in ms, rates per second, ratios). */
  figures: Record<string, unknown>;
  targets: BenchTarget[];
  /** What limits the numbers, in a sentence or two each. */
  notes?: string[];
  machine?: MachineInfo;
}

export type Bench = (options: BenchOptions) => Promise<BenchReport>;

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

/** Runs `bench` when the module is the entry point: JSON report on stdout, exit code 0/1. */
export async function runIfMain(moduleUrl: string, bench: Bench): Promise<void> {
  const entry = process.argv[1];
  if (entry === undefined || pathToFileURL(entry).href !== moduleUrl) return;
  try {
    const report = await bench({ quick: process.argv.includes('--quick') });
    process.stdout.write(`${JSON.stringify({ ...report, machine: machineInfo() }, null, 2)}\n`);
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
}

/** "1,234" */
export const thousands = (value: number): string => Math.round(value).toLocaleString('en-GB');
