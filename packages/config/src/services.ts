import { type z } from 'zod';
import {
  apiConcern,
  databaseConcern,
  hmrcConcern,
  httpConcern,
  ppnsConcern,
  receiverConcern,
  redisConcern,
  relayConcern,
  telemetryConcern,
  workerConcern,
} from './concerns.js';
import { isHmrcHost } from './hmrc-environments.js';
import { type Env, parseEnv } from './load.js';

/** Decodes a 32-byte AES key written as 64 hex characters or base64; undefined if neither. */
export function decodeEncryptionKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  const decoded = Buffer.from(trimmed, 'base64');
  return decoded.length === 32 ? decoded : undefined;
}

const base = telemetryConcern
  .extend(httpConcern.shape)
  .extend(databaseConcern.shape)
  .extend(redisConcern.shape);

const checkHmrc = (config: z.output<typeof hmrcConcern>, ctx: z.RefinementCtx) => {
  if (config.HMRC_UPLOAD_ALLOW_HTTP && !config.HMRC_API_BASE_URL.startsWith('http:')) {
    ctx.addIssue({
      code: 'custom',
      path: ['HMRC_UPLOAD_ALLOW_HTTP'],
      message: 'may be true only against a stand-in of HMRC on plain http (HMRC_API_BASE_URL)',
    });
  }
  const keys = [...config.TOKEN_ENCRYPTION_KEYS];
  if (config.TOKEN_ENCRYPTION_KEY !== undefined) keys.push(config.TOKEN_ENCRYPTION_KEY);
  if (keys.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['TOKEN_ENCRYPTION_KEY'],
      message: 'is required (or TOKEN_ENCRYPTION_KEYS): 32 bytes as base64 or 64 hex characters',
    });
  }
  for (const key of keys) {
    if (decodeEncryptionKey(key) === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [
          config.TOKEN_ENCRYPTION_KEYS.includes(key)
            ? 'TOKEN_ENCRYPTION_KEYS'
            : 'TOKEN_ENCRYPTION_KEY',
        ],
        message: 'every key must be 32 bytes, as base64 or 64 hex characters',
      });
    }
  }
};

export const receiverConfigSchema = base
  .extend(ppnsConcern.shape)
  .extend(receiverConcern.shape)
  .superRefine((config, ctx) => {
    if (config.PPNS_SIGNATURE_REQUIRED && config.PPNS_PUSH_SECRETS.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['PPNS_PUSH_SECRETS'],
        message:
          'is required while PPNS_SIGNATURE_REQUIRED is true (the push secret from HMRC Developer Hub)',
      });
    }
  });

export const workerConfigSchema = base
  .extend(workerConcern.shape)
  .extend(relayConcern.shape)
  .extend(ppnsConcern.shape)
  .extend(hmrcConcern.shape)
  .superRefine((config, ctx) => {
    checkHmrc(config, ctx);
    if (config.PPNS_LIST_MIN_GAP_MS < 10_000 && isHmrcHost(config.HMRC_API_BASE_URL)) {
      ctx.addIssue({
        code: 'custom',
        path: ['PPNS_LIST_MIN_GAP_MS'],
        message: 'must be at least 10000 against HMRC (one list call per box every 10 seconds)',
      });
    }
    // A message skipped for being too young must still fall inside the next sweep's window.
    if (config.RECONCILE_GRACE_SECONDS > config.RECONCILE_OVERLAP_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['RECONCILE_GRACE_SECONDS'],
        message: 'must not exceed RECONCILE_OVERLAP_SECONDS',
      });
    }
    if (config.EVENT_WEBHOOK_URLS.length > 0 && config.EVENT_WEBHOOK_SECRET === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['EVENT_WEBHOOK_SECRET'],
        message: 'is required when EVENT_WEBHOOK_URLS is set (whsec_ followed by base64)',
      });
    }
    if (
      config.EVENT_WEBHOOK_SECRET !== undefined &&
      !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(config.EVENT_WEBHOOK_SECRET)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['EVENT_WEBHOOK_SECRET'],
        message: 'must be whsec_ followed by base64',
      });
    }
  });

export const apiConfigSchema = base
  .extend(apiConcern.shape)
  .extend(relayConcern.shape)
  .extend(hmrcConcern.shape)
  .superRefine(checkHmrc);

export type ReceiverConfig = z.output<typeof receiverConfigSchema>;
export type WorkerConfig = z.output<typeof workerConfigSchema>;
export type ApiConfig = z.output<typeof apiConfigSchema>;

export const loadReceiverConfig = (env: Env = process.env): ReceiverConfig =>
  parseEnv(receiverConfigSchema, env);
export const loadWorkerConfig = (env: Env = process.env): WorkerConfig =>
  parseEnv(workerConfigSchema, env);
export const loadApiConfig = (env: Env = process.env): ApiConfig => parseEnv(apiConfigSchema, env);

/**
 * The environment variable names each deployed service reads (for compose/k8s/.env.example
 * checks). The HMRC sandbox, test-side, has its own: `sandboxEnvNames` in @ctc-hub/hmrc-sandbox.
 */
export const serviceEnvNames = {
  receiver: Object.keys(base.extend(ppnsConcern.shape).extend(receiverConcern.shape).shape),
  worker: Object.keys(
    base
      .extend(workerConcern.shape)
      .extend(relayConcern.shape)
      .extend(ppnsConcern.shape)
      .extend(hmrcConcern.shape).shape,
  ),
  api: Object.keys(
    base.extend(apiConcern.shape).extend(relayConcern.shape).extend(hmrcConcern.shape).shape,
  ),
} as const;
