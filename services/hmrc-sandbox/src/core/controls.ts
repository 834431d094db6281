import type { Response } from 'express';
import type { Logger } from '@ctc-hub/telemetry';
import { FaultState, type FaultConfig, type FaultConfigInput } from '../faults/faults.js';
import { GuaranteeStore, guaranteeSchema, type Guarantee } from '../guarantee/balance.js';
import { Inbound } from '../lifecycle/inbound.js';
import { injectMessage, type InjectInput } from '../lifecycle/injection.js';
import { NctsSimulator, OfficerActionError } from '../lifecycle/simulator.js';
import type { OfficerAction } from '../scenarios/officer.js';
import { RateLimiter } from '../oauth/auth.js';
import { applicationScopes, TokenStore, userScopes, type TokenResponse } from '../oauth/tokens.js';
import { validateCallback, type CallbackValidationResult } from '../ppns/challenge.js';
import { CallbackClient } from '../ppns/http-post.js';
import { notificationView, PushService } from '../ppns/push.js';
import { Submissions } from '../submissions/submissions.js';
import type { SchemaValidator } from '../submissions/validation.js';
import { Phase4Simulator } from '../v1/lifecycle.js';
import {
  publicSettings,
  settingsPatchSchema,
  type RuntimeSettings,
  type SettingsPatch,
} from './settings.js';
import { SandboxStats, type Arrival, type StatsSnapshot } from './stats.js';
import { MovementStore, type Movement, type MovementType } from './store.js';

/** Every component of one sandbox instance; the routes and the controls share it. */
export interface SandboxContext {
  settings: RuntimeSettings;
  logger: Logger;
  store: MovementStore;
  tokens: TokenStore;
  limiter: RateLimiter;
  stats: SandboxStats;
  faults: FaultState;
  client: CallbackClient;
  push: PushService;
  inbound: Inbound;
  simulator: NctsSimulator;
  /** NCTS answers to v1 (phase 4) submissions; its steps run on `simulator`. */
  phase4: Phase4Simulator;
  submissions: Submissions;
  guarantees: GuaranteeStore;
  validator: SchemaValidator;
  /** Responses deliberately left unanswered (accept-then-timeout, slow bodies); closed on stop. */
  hanging: Set<Response>;
}

export function createContext(
  settings: RuntimeSettings,
  logger: Logger,
  validator: SchemaValidator,
): SandboxContext {
  const stats = new SandboxStats();
  const faults = new FaultState();
  const store = new MovementStore();
  const client = new CallbackClient();
  const push = new PushService(settings, faults, stats, logger, client);
  const inbound = new Inbound(store, push);
  const simulator = new NctsSimulator(inbound, store, settings, logger);
  return {
    settings,
    logger,
    store,
    tokens: new TokenStore(() => settings.accessTokenTtlSeconds),
    limiter: new RateLimiter(() => settings.rateLimitPerSecond),
    stats,
    faults,
    client,
    push,
    inbound,
    simulator,
    phase4: new Phase4Simulator(simulator, inbound, settings),
    submissions: new Submissions(store, validator, simulator, inbound, settings),
    guarantees: new GuaranteeStore(() => settings.balanceLockSeconds),
    validator,
    hanging: new Set(),
  };
}

/** The in-process equivalent of the /_sandbox admin API, for tests. */
export interface SandboxControls {
  setFaults(faults: FaultConfigInput): FaultConfig;
  getFaults(): FaultConfig;
  clearFaults(): void;
  /** Changes runtime settings (callbackUrl, rateLimitPerSecond, nctsStepMs, …). */
  configure(patch: SettingsPatch): Record<string, unknown>;
  settings(): Readonly<RuntimeSettings>;
  stats(): StatsSnapshot;
  /** Every API call that reached the rate limit, oldest first (cleared by resetStats). */
  arrivals(): Arrival[];
  resetStats(): void;
  /** Forgets movements, notifications, tokens, uploads and locks; clears faults and stats. */
  reset(): void;
  /**
   * A token without the OAuth dance: user (default, with EORI) or application. `clientId` issues
   * it to another application than the configured one (default SANDBOX_CLIENT_ID): HMRC's rate
   * limit is per application, so such a token has a budget of its own (e.g. a benchmark's
   * polling client beside the hub). Pushes still go only to the configured application's box.
   */
  issueToken(options?: {
    eori?: string;
    scopes?: string[];
    kind?: 'user' | 'application';
    clientId?: string;
  }): TokenResponse;
  expireAccessTokens(): void;
  /**
   * Forgets every token and authorization code, as a sandbox restart does: access tokens then
   * answer 401 and refresh tokens invalid_grant.
   */
  forgetTokens(): void;
  /** "NCTS sends a message" (see the test-support endpoint); creates unknown movements. */
  injectMessage(
    type: MovementType,
    movementId: string | undefined,
    input: InjectInput,
  ): {
    movementId: string;
    messageId: string;
    messageType: string;
    notificationId: string | undefined;
  };
  movement(id: string): Movement | undefined;
  movements(): Movement[];
  /**
   * A manual decision of the office of departure on a v2 departure (control, hold, release,
   * invalidation, discrepancies), as HMRC's Trader Test team makes on a tester's request.
   * Throws OfficerActionError when the movement's state does not allow it.
   */
  officer(movementId: string, action: OfficerAction): void;
  /** The box as PPNS holds it, plus delivery attempts. */
  notifications(): (Record<string, unknown> & { attempts: number })[];
  upsertGuarantee(
    grn: string,
    guarantee: Partial<Guarantee> & { accessCode: string; balance: number },
  ): void;
  clearBalanceLocks(): void;
  /** PPNS's callback challenge against `url`. */
  validateCallback(url: string, timeoutMs?: number): Promise<CallbackValidationResult>;
  /** Resolves when no push is in flight or scheduled and no NCTS answer is pending. */
  settle(timeoutMs?: number): Promise<void>;
  /** Which XSD validator submissions go through: ncts, xmllint or none. */
  readonly schemaEngine: string;
}

export function createControls(context: SandboxContext): SandboxControls {
  const { settings, store, tokens, stats, faults, push, guarantees } = context;
  return {
    setFaults: (input) => faults.set(input),
    getFaults: () => faults.get(),
    clearFaults: () => faults.clear(),
    configure: (patch) => {
      Object.assign(settings, settingsPatchSchema.parse(patch));
      return publicSettings(settings);
    },
    settings: () => ({ ...settings }),
    stats: () => stats.snapshot(),
    arrivals: () => stats.arrivals(),
    resetStats: () => stats.reset(),
    reset: () => {
      context.simulator.stop();
      push.reset();
      store.reset();
      tokens.reset();
      context.limiter.reset();
      context.submissions.reset();
      guarantees.reset();
      faults.clear();
      stats.reset();
    },
    issueToken: (options = {}) => {
      const kind = options.kind ?? 'user';
      const known = kind === 'user' ? userScopes : applicationScopes;
      const scopes = new Set(options.scopes ?? [...known]);
      const clientId = options.clientId ?? settings.clientId;
      if (kind === 'application') return tokens.issueApplicationToken(clientId, scopes);
      return tokens.issueUserTokens(clientId, options.eori ?? 'GB123456789000', scopes);
    },
    expireAccessTokens: () => tokens.expireAccessTokens(),
    forgetTokens: () => tokens.reset(),
    injectMessage: (type, movementId, input) => {
      const result = injectMessage(store, context.inbound, settings, type, movementId, input);
      return {
        movementId: result.movement.id,
        messageId: result.messageId,
        messageType: result.messageType,
        notificationId: result.notificationId,
      };
    },
    movement: (id) => store.get(id),
    movements: () => store.all(),
    officer: (movementId, action) => {
      const movement = store.get(movementId);
      if (movement === undefined) throw new OfficerActionError(`no movement ${movementId}`);
      context.simulator.officer(movement, action);
    },
    notifications: () =>
      push.all().map((notification) => ({
        ...notificationView(notification),
        attempts: notification.attempts,
      })),
    upsertGuarantee: (grn, guarantee) => guarantees.upsert(grn, guaranteeSchema.parse(guarantee)),
    clearBalanceLocks: () => guarantees.clearLocks(),
    validateCallback: (url, timeoutMs) => validateCallback(context.client, url, timeoutMs),
    settle: async (timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!push.idle || context.simulator.pending > 0) {
        if (Date.now() > deadline) throw new Error('sandbox did not settle in time');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    schemaEngine: context.validator.engine,
  };
}
