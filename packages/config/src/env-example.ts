import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import * as concerns from './concerns.js';

const sections: { title: string; schema: z.ZodObject; name: string }[] = [
  {
    title: 'Logging and tracing (every service)',
    schema: concerns.telemetryConcern,
    name: 'telemetryConcern',
  },
  { title: 'HTTP (every service)', schema: concerns.httpConcern, name: 'httpConcern' },
  {
    title: 'PostgreSQL (receiver, worker, api)',
    schema: concerns.databaseConcern,
    name: 'databaseConcern',
  },
  {
    title: 'Redis and queues (receiver, worker, api)',
    schema: concerns.redisConcern,
    name: 'redisConcern',
  },
  { title: 'PPNS boxes (receiver, worker)', schema: concerns.ppnsConcern, name: 'ppnsConcern' },
  {
    title: 'Receiver: the PPNS callback',
    schema: concerns.receiverConcern,
    name: 'receiverConcern',
  },
  { title: 'HMRC access (worker, api)', schema: concerns.hmrcConcern, name: 'hmrcConcern' },
  { title: 'Worker', schema: concerns.workerConcern, name: 'workerConcern' },
  { title: 'Api', schema: concerns.apiConcern, name: 'apiConcern' },
  {
    title: 'HMRC sandbox (the local stand-in for HMRC)',
    schema: concerns.sandboxConcern,
    name: 'sandboxConcern',
  },
];

/** The doc comment written above each key in concerns.ts, by concern and key. */
function docComments(): Map<string, string[]> {
  const source = readFileSync(fileURLToPath(new URL('./concerns.ts', import.meta.url)), 'utf8');
  const comments = new Map<string, string[]>();
  let concern = '';
  let pending: string[] = [];
  for (const line of source.split('\n')) {
    const start = /^export const (\w+) = /.exec(line);
    if (start !== null) concern = start[1]!;
    const trimmed = line.trim();
    if (trimmed.startsWith('/**') || trimmed.startsWith('*')) {
      const text = trimmed
        .replace(/^\/\*\*|\*\/$|^\*/g, '')
        .replace(/\*\/$/, '')
        .trim();
      if (text !== '') pending.push(text);
      continue;
    }
    const key = /^([A-Z][A-Z0-9_]+):/.exec(trimmed);
    if (key !== null) {
      comments.set(`${concern}.${key[1]}`, pending);
      pending = [];
    } else if (trimmed !== '') {
      pending = [];
    }
  }
  return comments;
}

function defaultOf(field: z.ZodType): string | undefined {
  const result = field.safeParse(undefined);
  if (!result.success || result.data === undefined) return undefined;
  if (Array.isArray(result.data))
    return result.data.length === 0 ? undefined : result.data.join(',');
  return String(result.data);
}

/**
 * The text of .env.example: every setting of every concern with its comment; a setting with a
 * default is written active with that value, one without is written commented out.
 */
export function renderEnvExample(): string {
  const comments = docComments();
  const lines = [
    '# ctc-hub settings: every variable any service reads, generated from packages/config',
    '# (`pnpm env:example`; a test keeps this file in sync). Copy to .env for `pnpm start`, which',
    '# fills in development values for secrets and credentials when the local HMRC sandbox is used.',
    '# Variables without a value are optional or, where marked, required in production.',
  ];
  for (const section of sections) {
    lines.push('', `# ${'-'.repeat(96)}`, `# ${section.title}`, `# ${'-'.repeat(96)}`);
    for (const [key, field] of Object.entries(section.schema.shape)) {
      for (const text of comments.get(`${section.name}.${key}`) ?? []) lines.push(`# ${text}`);
      const value = defaultOf(field as z.ZodType);
      lines.push(value === undefined ? `# ${key}=` : `${key}=${value}`, '');
    }
    if (lines.at(-1) === '') lines.pop();
  }
  return `${lines.join('\n')}\n`;
}
