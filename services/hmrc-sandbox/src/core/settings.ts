import { z } from 'zod';
import type { SandboxConfig } from '../config.js';

/**
 * Settings that tests, the demo and benchmarks may change while the sandbox runs (through
 * `controls.configure` or `PUT /_sandbox/settings`). They start from SandboxConfig.
 */
export interface RuntimeSettings {
  callbackUrl: string;
  /** Not exposed by GET /_sandbox/settings: it is the PPNS push secret. */
  pushSecret: string;
  boxId: string;
  /**
   * false simulates an application without a PPNS box: POST responses omit boxId and nothing
   * is pushed for movements created meanwhile (HMRC swallows the box lookup failure).
   */
  boxConfigured: boolean;
  clientId: string;
  clientSecret: string;
  rateLimitPerSecond: number;
  accessTokenTtlSeconds: number;
  pushRetryIntervalMs: number;
  pushRetryWindowMs: number;
  pushTimeoutMs: number;
  /** Most pushes in flight at once; the rest wait in order. */
  pushConcurrency: number;
  /**
   * When set (epoch ms), every new notification gets this createdDateTime instead of the clock:
   * at HMRC many notifications share one millisecond under load, and pull paging by the
   * inclusive fromDate must survive a full page of them. null: strictly increasing times.
   */
  pinnedCreatedAt: number | null;
  nctsStepMs: number;
  /** false: submissions are stored but NCTS never answers (no lifecycle). */
  lifecycleEnabled: boolean;
  rejectLrnPrefix: string;
  balanceLockSeconds: number;
  /**
   * Origin of the upload listener as put into uploadRequest.href (set at start; a test may point
   * it at a host the hub does not allow).
   */
  uploadBaseUrl: string;
}

export function settingsFromConfig(config: SandboxConfig): RuntimeSettings {
  return {
    callbackUrl: config.SANDBOX_CALLBACK_URL,
    pushSecret: config.SANDBOX_PUSH_SECRET,
    boxId: config.SANDBOX_BOX_ID,
    boxConfigured: true,
    clientId: config.SANDBOX_CLIENT_ID,
    clientSecret: config.SANDBOX_CLIENT_SECRET,
    rateLimitPerSecond: config.SANDBOX_RATE_LIMIT_PER_SECOND,
    accessTokenTtlSeconds: config.SANDBOX_ACCESS_TOKEN_TTL_SECONDS,
    pushRetryIntervalMs: config.SANDBOX_PUSH_RETRY_INTERVAL_MS,
    pushRetryWindowMs: config.SANDBOX_PUSH_RETRY_WINDOW_MS,
    pushTimeoutMs: config.SANDBOX_PUSH_TIMEOUT_MS,
    pushConcurrency: 64,
    pinnedCreatedAt: null,
    nctsStepMs: config.SANDBOX_NCTS_STEP_MS,
    lifecycleEnabled: true,
    rejectLrnPrefix: config.SANDBOX_REJECT_LRN_PREFIX,
    balanceLockSeconds: config.SANDBOX_BALANCE_LOCK_SECONDS,
    uploadBaseUrl: config.SANDBOX_UPLOAD_BASE_URL ?? '',
  };
}

/** What PUT /_sandbox/settings accepts: any subset, validated. */
export const settingsPatchSchema = z
  .object({
    callbackUrl: z.string().refine((value) => URL.canParse(value), 'must be an absolute URL'),
    pushSecret: z.string().min(1),
    boxConfigured: z.boolean(),
    rateLimitPerSecond: z.number().int().positive(),
    accessTokenTtlSeconds: z.number().int().positive(),
    pushRetryIntervalMs: z.number().int().positive(),
    pushRetryWindowMs: z.number().int().positive(),
    pushTimeoutMs: z.number().int().positive(),
    pushConcurrency: z.number().int().positive(),
    pinnedCreatedAt: z.number().int().positive().nullable(),
    nctsStepMs: z.number().int().min(0),
    lifecycleEnabled: z.boolean(),
    rejectLrnPrefix: z.string().min(1),
    balanceLockSeconds: z.number().int().min(0),
    uploadBaseUrl: z
      .string()
      .refine((value) => URL.canParse(value), 'must be an absolute URL')
      .transform((value) => value.replace(/\/+$/, '')),
  })
  .partial()
  .strict();

export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

/** The settings without secrets, for GET /_sandbox/settings. */
export function publicSettings(settings: RuntimeSettings): Record<string, unknown> {
  const { pushSecret: _pushSecret, clientSecret: _clientSecret, ...rest } = settings;
  return rest;
}
