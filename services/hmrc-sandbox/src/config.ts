import {
  fields,
  httpConcern,
  parseEnv,
  telemetryConcern,
  type Env,
  type EnvExampleSection,
} from '@ctc-hub/config';
import { z } from 'zod';

// The sandbox's settings (SANDBOX_*). The sandbox is test-side, a stand-in for HMRC that no
// deployed service imports, so its schema lives here rather than among @ctc-hub/config's
// concerns; it reuses their field types and the telemetry and HTTP concerns every process has.
// scripts/env-example.ts adds it to .env.example (`pnpm start` runs the sandbox with these
// settings), copying the doc comment above each key from this file.

const { baseUrl, nonNegativeInt, port, positiveInt, url, uuid } = fields;

export const sandboxConcern = z.object({
  SANDBOX_PORT: port(8090),
  /**
   * The stand-in for HMRC's Upscan upload proxy listens here, apart from the API: at HMRC large
   * declarations are uploaded to another host (www.upscan.tax.service.gov.uk) than the API's.
   * Default: SANDBOX_PORT + 1 (8091), or any free port when SANDBOX_PORT is 0.
   */
  SANDBOX_UPLOAD_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /**
   * Origin put into uploadRequest.href. Default: http://localhost:<SANDBOX_UPLOAD_PORT> (or
   * http://127.0.0.1:… when HTTP_HOST is localhost), a host name other than the API's, so the
   * hub's HMRC_UPLOAD_HOSTS is exercised. Set it when that name does not reach the listener.
   */
  SANDBOX_UPLOAD_BASE_URL: baseUrl().optional(),
  /** Where the sandbox pushes PPNS notifications (our receiver). */
  SANDBOX_CALLBACK_URL: url().default('http://127.0.0.1:8080/ppns/callback'),
  /** Push secret the sandbox signs with; give the receiver the same value in PPNS_PUSH_SECRETS. */
  SANDBOX_PUSH_SECRET: z.string().trim().min(1).default('SANDBOXPUSHSECRETDEVONLY00000000'),
  /** The default PPNS box of the sandbox application. */
  SANDBOX_BOX_ID: uuid().default('5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e'),
  /** The application registered at the sandbox (what HMRC_CLIENT_ID/SECRET must be). */
  SANDBOX_CLIENT_ID: z.string().trim().min(1).default('ctc-hub-dev'),
  SANDBOX_CLIENT_SECRET: z.string().trim().min(1).default('ctc-hub-dev-secret'),
  /** HMRC's rate limit per application. */
  SANDBOX_RATE_LIMIT_PER_SECOND: positiveInt(3),
  SANDBOX_ACCESS_TOKEN_TTL_SECONDS: positiveInt(4 * 60 * 60),
  /** PPNS re-pushes notifications that did not get 200; HMRC waits 5 minutes, we default to less. */
  SANDBOX_PUSH_RETRY_INTERVAL_MS: positiveInt(5000),
  /** After this long without a 200 a notification is marked FAILED (HMRC: 6 hours). */
  SANDBOX_PUSH_RETRY_WINDOW_MS: positiveInt(6 * 60 * 60 * 1000),
  /** Delay between a declaration and each NCTS answer of the simulated lifecycle. */
  SANDBOX_NCTS_STEP_MS: nonNegativeInt(200),
  /** How long one push waits for the callback's answer before it counts as failed (and is retried). */
  SANDBOX_PUSH_TIMEOUT_MS: positiveInt(10_000),
  /** Declarations whose LRN starts with this are rejected by the simulated NCTS (IE056). */
  SANDBOX_REJECT_LRN_PREFIX: z.string().trim().min(1).default('REJ'),
  /** Guarantee Balance lock per user and GRN (HMRC: 60 s, taken even when the request fails). */
  SANDBOX_BALANCE_LOCK_SECONDS: nonNegativeInt(60),
});

export const sandboxConfigSchema = telemetryConcern
  .extend(httpConcern.shape)
  .extend(sandboxConcern.shape);

export type SandboxConfig = z.output<typeof sandboxConfigSchema>;

/** Reads the sandbox's settings from the environment; ConfigError names every bad variable. */
export const loadSandboxConfig = (env: Env = process.env): SandboxConfig =>
  parseEnv(sandboxConfigSchema, env);

/** The environment variable names the sandbox reads (docker-compose is checked against them). */
export const sandboxEnvNames = Object.keys(sandboxConfigSchema.shape);

/** The sandbox's block of .env.example, after the deployed services' (scripts/env-example.ts). */
export const sandboxEnvExampleSection: EnvExampleSection = {
  title: 'HMRC sandbox (the local stand-in for HMRC)',
  schema: sandboxConcern,
  name: 'sandboxConcern',
  source: new URL(import.meta.url),
};
