import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import * as concerns from './concerns.js';

/** One block of .env.example: a concern's schema and the file whose doc comments describe it. */
export interface EnvExampleSection {
  title: string;
  schema: z.ZodObject;
  /** The schema's exported name in `source` (`export const <name> = z.object({`). */
  name: string;
  /** The TypeScript file declaring it; the comment above each key is copied from there. */
  source: URL;
}

const concernsFile = new URL('./concerns.ts', import.meta.url);

/** The settings of the deployed services, in the order .env.example lists them. */
export const configSections: EnvExampleSection[] = [
  {
    title: 'Logging and tracing (every service)',
    schema: concerns.telemetryConcern,
    name: 'telemetryConcern',
    source: concernsFile,
  },
  {
    title: 'HTTP (every service)',
    schema: concerns.httpConcern,
    name: 'httpConcern',
    source: concernsFile,
  },
  {
    title: 'PostgreSQL (receiver, worker, api)',
    schema: concerns.databaseConcern,
    name: 'databaseConcern',
    source: concernsFile,
  },
  {
    title: 'Redis and queues (receiver, worker, api)',
    schema: concerns.redisConcern,
    name: 'redisConcern',
    source: concernsFile,
  },
  {
    title: 'PPNS boxes (receiver, worker)',
    schema: concerns.ppnsConcern,
    name: 'ppnsConcern',
    source: concernsFile,
  },
  {
    title: 'Receiver: the PPNS callback',
    schema: concerns.receiverConcern,
    name: 'receiverConcern',
    source: concernsFile,
  },
  {
    title: 'HMRC access (worker, api)',
    schema: concerns.hmrcConcern,
    name: 'hmrcConcern',
    source: concernsFile,
  },
  { title: 'Worker', schema: concerns.workerConcern, name: 'workerConcern', source: concernsFile },
  {
    title: 'PPNS relay (worker, api)',
    schema: concerns.relayConcern,
    name: 'relayConcern',
    source: concernsFile,
  },
  { title: 'Api', schema: concerns.apiConcern, name: 'apiConcern', source: concernsFile },
];

/** The doc comment written above each key of each schema in a file, by schema name and key. */
function docComments(file: URL): Map<string, string[]> {
  const source = readFileSync(fileURLToPath(file), 'utf8');
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
 * The text of .env.example: every setting of every section with its comment; a setting with a
 * default is written active with that value, one without is written commented out. The default
 * is the deployed services' settings; scripts/env-example.ts adds the HMRC sandbox's, which is
 * test-side and owns its schema.
 */
export function renderEnvExample(sections: readonly EnvExampleSection[] = configSections): string {
  const lines = [
    '# ctc-hub settings: every variable any service reads, generated from their zod schemas',
    '# (`pnpm env:example`; a test keeps this file in sync). Copy to .env for `pnpm start`, which',
    '# fills in development values for secrets and credentials when the local HMRC sandbox is used.',
    '# Variables without a value are optional or, where marked, required in production.',
  ];
  for (const section of sections) {
    lines.push('', `# ${'-'.repeat(96)}`, `# ${section.title}`, `# ${'-'.repeat(96)}`);
    const comments = docComments(section.source);
    for (const [key, field] of Object.entries(section.schema.shape)) {
      for (const text of comments.get(`${section.name}.${key}`) ?? []) lines.push(`# ${text}`);
      const value = defaultOf(field as z.ZodType);
      lines.push(value === undefined ? `# ${key}=` : `${key}=${value}`, '');
    }
    if (lines.at(-1) === '') lines.pop();
  }
  return `${lines.join('\n')}\n`;
}
