import type { HubClient } from '@ctc-hub/client';

/**
 * Exit codes (docs/OPERATIONS.md lists them; scripts branch on them):
 *   0 done · 1 unexpected failure · 2 usage (unknown command or option, bad value)
 *   3 not found · 4 not allowed (no key, unknown key, key limited to other EORIs)
 *   5 refused by the api (invalid, conflict, limit reached: the message says why)
 *   6 the api is unreachable or failing (5xx) · 7 unhealthy (health: a service not ready)
 *   8 aborted at the confirmation step
 */
export const exitCodes = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  forbidden: 4,
  refused: 5,
  unavailable: 6,
  unhealthy: 7,
  aborted: 8,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Where a command reads its settings and writes its output; tests pass their own. */
export interface Io {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Asks a yes/no question; false when there is nobody to ask (no TTY). */
  confirm: (question: string) => Promise<boolean>;
  /** Whether stdout is a terminal (progress bars redraw in place only there). */
  isTty: boolean;
}

export interface Context {
  io: Io;
  hub: HubClient;
  baseUrl: string;
  json: boolean;
}

export function exitCodeForStatus(status: number): number {
  if (status === 404) return exitCodes.notFound;
  if (status === 401 || status === 403) return exitCodes.forbidden;
  if (status >= 500) return exitCodes.unavailable;
  return exitCodes.refused;
}

/**
 * The data of a typed call, or a CliError carrying the api's own message and the exit code its
 * status means. A connection failure is "unavailable", naming the URL.
 */
export async function need<T>(
  context: Context,
  what: string,
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    throw new CliError(
      `Cannot reach the api at ${context.baseUrl} (${(error as Error).message}): is it running, is CTC_HUB_URL right?`,
      exitCodes.unavailable,
    );
  }
  const { data, error, response } = result;
  if (response.ok && data !== undefined) return data;
  const body = error as { code?: string; message?: string } | undefined;
  const detail = body?.message ?? (typeof error === 'string' ? error : response.statusText);
  throw new CliError(
    `${what}: ${response.status}${body?.code ? ` ${body.code}` : ''}: ${detail}`,
    exitCodeForStatus(response.status),
  );
}

/** JSON for scripts (--json), or the human form. */
export function emit(context: Context, value: unknown, human: () => string): void {
  context.io.out(context.json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

/** A plain text table: a header row, then one line per row, columns padded to fit. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [
    headers,
    ...rows.map((row) => row.map((cell) => (cell == null ? '-' : String(cell)))),
  ];
  const widths = headers.map((_, column) =>
    Math.max(...cells.map((row) => (row[column] ?? '').length)),
  );
  const lines = cells.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
  if (rows.length === 0) lines.push('(none)');
  return `${lines.join('\n')}\n`;
}

/** `key: value` lines, for one resource. */
export function fields(entries: [string, unknown][]): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return `${entries
    .map(
      ([key, value]) =>
        `${`${key}:`.padEnd(width + 2)}${value == null ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
    )
    .join('\n')}\n`;
}

/** Rough "in 3 d" / "2 h ago" from now. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (iso == null) return '-';
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const size = Math.abs(seconds);
  const text =
    size < 90
      ? `${size} s`
      : size < 5400
        ? `${Math.round(size / 60)} min`
        : size < 172_800
          ? `${Math.round(size / 3600)} h`
          : `${Math.round(size / 86_400)} d`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}
