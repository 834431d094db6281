import type { Db } from '@ctc-hub/db';
import { connectionStateOf, type EoriConnectionState, type TokenStore } from '@ctc-hub/hmrc-client';
import type { Logger, Meter } from '@ctc-hub/telemetry';
import { sql } from 'kysely';
import type { OpsDeps } from '../runtime/deps.js';
import type { BackgroundTask } from '../runtime/deps.js';

/** Statuses a dead letter can have; a kind seen in any of them is reported in all (zeros included). */
const deadLetterStatuses = ['open', 'replayed', 'resolved', 'purged'] as const;

/** Scopes not run for this long no longer count towards staleness (e.g. a disconnected EORI). */
const retiredScopeMs = 24 * 3600 * 1000;

export interface OperationalGaugeDeps {
  db: Db;
  tokens: Pick<TokenStore, 'listTokensNearReconsent'>;
  logger: Logger;
  /** When reconciliation is switched off, its freshness is not reported (nothing would refresh it). */
  reconcileEnabled: boolean;
}

export interface OperationalGaugeOptions {
  /** How often the database counts are refreshed; scrapes only read the cache. */
  refreshMs?: number;
  /** How often hmrc_tokens_near_reconsent is recomputed. */
  reconsentCheckMs?: number;
  /** The re-consent window reported, in days. */
  reconsentDays?: number;
  now?: () => number;
}

interface ScopeState {
  scope: string;
  kind: string;
  lastRunAt: Date | null;
  lastSuccessAt: Date | null;
}

interface Snapshot {
  at: number;
  deadLetters: { kind: string; status: string; count: number }[];
  scopes: ScopeState[];
  connections: { verification: string; count: number }[];
  /** Connected traders by whether their authority works (connectionStateOf). */
  tokenStates: Map<EoriConnectionState, number>;
}

/**
 * ctc_trader_tokens{state}: every state reported, zeros included. refresh-refused (HMRC answered
 * invalid_grant) and consent-expired are broken connections: nothing is sent or fetched for the
 * trader until it connects again.
 */
const tokenStateNames: readonly Exclude<EoriConnectionState, 'not-connected'>[] = [
  'connected',
  'unverified',
  'refresh-refused',
  'consent-expired',
  'mismatched',
];

/** Every verification state is reported (zeros included), so alerts can rely on the series. */
const connectionStates = ['unverified', 'verified', 'mismatched'] as const;

/**
 * Per reconciliation kind, seconds since the stalest active scope last succeeded. Scopes that
 * have never succeeded count from when this process first saw them. A scope not run for a day is
 * treated as retired (its EORI was disconnected, its box removed) so it cannot hold the alert on
 * forever; if every scope of a kind is that old, the freshest one is reported, so a scheduler
 * that stopped altogether still shows an ever-growing age.
 */
export function reconcileAges(
  scopes: readonly ScopeState[],
  nowMs: number,
  firstSeen: Map<string, number>,
): Map<string, number> {
  const ages = new Map<string, number>();
  const kinds = new Set(scopes.map((scope) => scope.kind));
  for (const kind of kinds) {
    const ofKind = scopes.filter((scope) => scope.kind === kind);
    const successOf = (scope: ScopeState) =>
      scope.lastSuccessAt?.getTime() ?? firstSeen.get(scope.scope) ?? nowMs;
    const active = ofKind.filter(
      (scope) => scope.lastRunAt !== null && nowMs - scope.lastRunAt.getTime() < retiredScopeMs,
    );
    const reference =
      active.length > 0 ? Math.min(...active.map(successOf)) : Math.max(...ofKind.map(successOf));
    ages.set(kind, Math.max(0, (nowMs - reference) / 1000));
  }
  return ages;
}

/**
 * Gauges read from PostgreSQL: dead letters by kind and status, reconciliation freshness, and
 * (through the token store) traders near HMRC's 18-month re-consent limit. Every worker replica
 * reports the same values, so dashboards and alerts aggregate them with max(), not sum().
 *
 * A scrape never queries the database: counts are refreshed on a timer and the observable
 * callbacks read the cache. A cache older than four refreshes (database unreachable) is not
 * reported at all, so a stale number never looks healthy.
 */
export function startOperationalGauges(
  deps: OperationalGaugeDeps,
  meter: Meter,
  options: OperationalGaugeOptions = {},
): { refresh: () => Promise<void>; stop: () => Promise<void> } {
  const refreshMs = options.refreshMs ?? 15_000;
  const reconsentCheckMs = options.reconsentCheckMs ?? 3600_000;
  const reconsentDays = options.reconsentDays ?? 30;
  const now = options.now ?? Date.now;
  const firstSeen = new Map<string, number>();
  let snapshot: Snapshot | undefined;
  let inFlight: Promise<void> | undefined;

  const fresh = () =>
    snapshot !== undefined && now() - snapshot.at <= 4 * refreshMs ? snapshot : undefined;

  const load = async () => {
    const [deadLetters, scopes, connections, tokens] = await Promise.all([
      deps.db
        .selectFrom('dead_letters')
        .select(['kind', 'status', sql<number>`count(*)::int`.as('count')])
        .groupBy(['kind', 'status'])
        .execute(),
      deps.reconcileEnabled
        ? deps.db
            .selectFrom('reconcile_state')
            .select(['scope', 'kind', 'last_run_at', 'last_success_at'])
            .execute()
        : Promise.resolve([]),
      deps.db
        .selectFrom('oauth_tokens')
        .select(['verification', sql<number>`count(*)::int`.as('count')])
        .where('kind', '=', 'user')
        .groupBy('verification')
        .execute(),
      deps.db
        .selectFrom('oauth_tokens')
        .select([
          'subject',
          'consented_at',
          'access_expires_at',
          sql<boolean>`refresh_token IS NOT NULL`.as('refreshable'),
          'refresh_refused_at',
          'verification',
          'vouched',
        ])
        .where('kind', '=', 'user')
        .execute(),
    ]);
    const tokenStates = new Map<EoriConnectionState, number>();
    const stateAt = new Date(now());
    for (const row of tokens) {
      const { state } = connectionStateOf(
        {
          eori: row.subject,
          kind: 'user',
          consentedAt: row.consented_at,
          accessExpiresAt: row.access_expires_at,
          hasRefreshToken: row.refreshable,
          refreshRefusedAt: row.refresh_refused_at,
          verification: row.verification,
          vouched: row.vouched,
        },
        stateAt,
      );
      tokenStates.set(state, (tokenStates.get(state) ?? 0) + 1);
    }
    const at = now();
    for (const row of scopes) {
      if (row.last_success_at === null && !firstSeen.has(row.scope)) firstSeen.set(row.scope, at);
    }
    snapshot = {
      at,
      deadLetters: deadLetters.map((row) => ({ ...row, count: Number(row.count) })),
      scopes: scopes.map((row) => ({
        scope: row.scope,
        kind: row.kind,
        lastRunAt: row.last_run_at,
        lastSuccessAt: row.last_success_at,
      })),
      connections: connections.map((row) => ({ ...row, count: Number(row.count) })),
      tokenStates,
    };
  };
  // One refresh at a time: a slow database must not pile up queries.
  const refresh = () =>
    (inFlight ??= load()
      .catch((error: unknown) =>
        deps.logger.warn({ err: error }, 'could not refresh operational gauges'),
      )
      .finally(() => {
        inFlight = undefined;
      }));

  const checkReconsent = async () => {
    try {
      const near = await deps.tokens.listTokensNearReconsent(reconsentDays);
      if (near.length > 0) {
        deps.logger.warn(
          {
            days: reconsentDays,
            traders: near.map((token) => ({
              eori: token.eori,
              reconsentBy: token.reconsentBy.toISOString(),
              expired: token.expired,
            })),
          },
          'traders must re-authorise ctc-hub at HMRC soon',
        );
      }
    } catch (error) {
      deps.logger.warn({ err: error }, 'could not check tokens near re-consent');
    }
  };

  const deadLetterGauge = meter.createObservableGauge('ctc_dead_letters', {
    description: 'Dead letters by kind and status (from PostgreSQL, refreshed every 15 s)',
  });
  const reconcileAgeGauge = meter.createObservableGauge('ctc_reconcile_last_success_age_seconds', {
    description:
      'Seconds since the stalest active reconciliation scope of each kind last succeeded',
    unit: 's',
  });
  const connectionGauge = meter.createObservableGauge('ctc_connections', {
    description:
      'Trader connections to HMRC by what HMRC has shown of their EORI: verified, unverified, mismatched (another trader signed in)',
  });
  const tokenGauge = meter.createObservableGauge('ctc_trader_tokens', {
    description:
      'Connected traders by whether their HMRC authority works: connected, unverified, refresh-refused (HMRC answered invalid_grant), consent-expired (18 months), mismatched',
  });
  type Callback = Parameters<typeof deadLetterGauge.addCallback>[0];
  const observeTokens: Callback = (result) => {
    const current = fresh();
    if (current === undefined) return;
    for (const state of tokenStateNames)
      result.observe(current.tokenStates.get(state) ?? 0, { state });
  };
  const observeConnections: Callback = (result) => {
    const current = fresh();
    if (current === undefined) return;
    for (const state of connectionStates)
      result.observe(current.connections.find((row) => row.verification === state)?.count ?? 0, {
        state,
      });
  };
  const observeDeadLetters: Callback = (result) => {
    const current = fresh();
    if (current === undefined) return;
    const counts = new Map<string, number>();
    for (const row of current.deadLetters) counts.set(`${row.kind}\u0000${row.status}`, row.count);
    for (const kind of new Set(current.deadLetters.map((row) => row.kind))) {
      const statuses = new Set<string>([
        ...deadLetterStatuses,
        ...current.deadLetters.filter((row) => row.kind === kind).map((row) => row.status),
      ]);
      for (const status of statuses)
        result.observe(counts.get(`${kind}\u0000${status}`) ?? 0, { kind, status });
    }
  };
  const observeReconcileAges: Callback = (result) => {
    const current = fresh();
    if (current === undefined) return;
    for (const [kind, age] of reconcileAges(current.scopes, now(), firstSeen))
      result.observe(age, { kind });
  };
  deadLetterGauge.addCallback(observeDeadLetters);
  reconcileAgeGauge.addCallback(observeReconcileAges);
  connectionGauge.addCallback(observeConnections);
  tokenGauge.addCallback(observeTokens);

  void refresh();
  void checkReconsent();
  const refreshTimer = setInterval(() => void refresh(), refreshMs);
  const reconsentTimer = setInterval(() => void checkReconsent(), reconsentCheckMs);
  refreshTimer.unref();
  reconsentTimer.unref();

  return {
    refresh,
    stop: async () => {
      clearInterval(refreshTimer);
      clearInterval(reconsentTimer);
      deadLetterGauge.removeCallback(observeDeadLetters);
      reconcileAgeGauge.removeCallback(observeReconcileAges);
      connectionGauge.removeCallback(observeConnections);
      tokenGauge.removeCallback(observeTokens);
      await inFlight;
    },
  };
}

export const operationalGaugesTask: BackgroundTask = {
  name: 'operational-gauges',
  start: async (deps: OpsDeps) => {
    const gauges = startOperationalGauges(
      {
        db: deps.db,
        tokens: deps.hmrc.tokens,
        logger: deps.logger,
        reconcileEnabled: deps.config.RECONCILE_ENABLED,
      },
      deps.meter,
    );
    return { stop: gauges.stop };
  },
};
