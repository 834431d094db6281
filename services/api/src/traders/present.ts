import type { ConnectionRow } from '@ctc-hub/db';
import { connectionStateOf, reconsentByOf, type EoriConnection } from '@ctc-hub/hmrc-client';
import { connectPath, reasonText } from '../connections/not-connected.js';
import { iso, isoOrNull } from '../http/hateoas.js';
import type { ReconcileScopeRow, TraderActivity } from './queries.js';

/**
 * One trader as operators and the trader's own systems see it: its HMRC connection (when it was
 * made, when HMRC's 18-month authority ends, whether its token works), the last call we made to
 * HMRC for it, reconciliation, what it has here, and what needs doing, with the link to do it.
 */

/** The token's state, in the words an operator uses (EoriConnection's states, renamed). */
export const tokenStates = [
  'valid',
  'unverified',
  'refresh-failed',
  'consent-expired',
  'mismatched',
  'not-connected',
] as const;
export type TokenState = (typeof tokenStates)[number];

const tokenStateOf: Record<EoriConnection['state'], TokenState> = {
  connected: 'valid',
  unverified: 'unverified',
  'refresh-refused': 'refresh-failed',
  'consent-expired': 'consent-expired',
  mismatched: 'mismatched',
  'not-connected': 'not-connected',
};

/** Consents ending within this many days need the trader to connect again soon. */
export const expiringWithinDays = 30;

export interface Attention {
  /** `action`: nothing works until someone acts; `warning`: it works, but will not for long. */
  severity: 'action' | 'warning';
  problem: string;
  fix: string;
  href: string | null;
}

interface LastCall {
  at: Date;
  what: string;
  outcome: string;
  detail: string | null;
}

/**
 * The latest thing we know we asked HMRC for this trader: a submission attempt, a
 * reconciliation run, a token refresh or its refusal. Calls that leave no row (message fetches,
 * balance checks) are counted in hmrc_requests_total, not here.
 */
function lastCallOf(row: ConnectionRow | undefined, activity: TraderActivity): LastCall | null {
  const calls: LastCall[] = [];
  const attempt = activity.lastAttempt;
  if (attempt !== null)
    calls.push({
      at: new Date(new Date(attempt.attempt.at).getTime() + attempt.attempt.durationMs),
      what: `${attempt.messageType} submission ${attempt.submissionId}`,
      outcome: attempt.attempt.outcome,
      detail:
        attempt.attempt.error ??
        (attempt.attempt.httpStatus === null ? null : `HTTP ${attempt.attempt.httpStatus}`),
    });
  for (const scope of activity.reconciliation) {
    if (scope.lastRunAt === null) continue;
    const ok = scope.lastSuccessAt !== null && scope.lastSuccessAt >= scope.lastRunAt;
    calls.push({
      at: ok ? scope.lastSuccessAt! : scope.lastRunAt,
      what: `reconciliation of ${scope.movementType}s`,
      outcome: ok ? 'ok' : scope.lastError === null ? 'running' : 'failed',
      detail: ok ? null : scope.lastError,
    });
  }
  if (row?.refreshedAt != null)
    calls.push({ at: row.refreshedAt, what: 'token refresh', outcome: 'ok', detail: null });
  if (row?.refreshRefusedAt != null)
    calls.push({
      at: row.refreshRefusedAt,
      what: 'token refresh',
      outcome: row.refreshError ?? 'refused',
      detail: 'HMRC refused the refresh token',
    });
  return calls.sort((a, b) => b.at.getTime() - a.at.getTime())[0] ?? null;
}

function reconciliationJson(scope: ReconcileScopeRow, now: number) {
  return {
    movementType: scope.movementType,
    lastRunAt: isoOrNull(scope.lastRunAt),
    lastSuccessAt: isoOrNull(scope.lastSuccessAt),
    lastSuccessAgeSeconds:
      scope.lastSuccessAt === null
        ? null
        : Math.max(0, Math.round((now - scope.lastSuccessAt.getTime()) / 1000)),
    lastError: scope.lastError,
    recovered: scope.recovered,
  };
}

const reconciliationFailing = (scope: ReconcileScopeRow) =>
  scope.lastError !== null &&
  scope.lastRunAt !== null &&
  (scope.lastSuccessAt === null || scope.lastSuccessAt < scope.lastRunAt);

function attentionOf(
  eori: string,
  connection: EoriConnection,
  row: ConnectionRow | undefined,
  activity: TraderActivity,
  daysLeft: number | null,
): Attention[] {
  const connect = connectPath(eori);
  const found: Attention[] = [];
  switch (connection.state) {
    case 'refresh-refused':
      found.push({
        severity: 'action',
        problem:
          `HMRC refused to refresh this trader's authority (${row?.refreshError ?? 'no refresh token'}` +
          `${row?.refreshRefusedAt == null ? '' : ` at ${iso(row.refreshRefusedAt)}`}): nothing is ` +
          'sent or fetched for it. It happens when the trader revoked it at HMRC, a refresh token ' +
          'was used twice, or (in the sandbox) after the sandbox restarted.',
        fix: `Have the trader connect again: open ${connect} with an API key allowed for ${eori}, and sign in at HMRC as ${eori}.`,
        href: connect,
      });
      break;
    case 'consent-expired':
    case 'not-connected':
      found.push({
        severity: 'action',
        problem: reasonText(connection),
        fix: `Connect it: open ${connect} and sign in at HMRC as ${eori}.`,
        href: connect,
      });
      break;
    case 'mismatched':
      found.push({
        severity: 'action',
        problem: reasonText(connection),
        fix: `An operator resolves it (POST /v1/connections/${eori}/resolve), then the trader connects again at ${connect}.`,
        href: `/v1/connections/${eori}`,
      });
      break;
    case 'unverified':
      found.push({
        severity: 'warning',
        problem: reasonText(connection),
        fix: `An operator who checked who signed in confirms it: POST /v1/connections/${eori}/confirm.`,
        href: `/v1/connections/${eori}`,
      });
      break;
    case 'connected':
      break;
  }
  if (connection.state === 'connected' && daysLeft !== null && daysLeft <= expiringWithinDays)
    found.push({
      severity: 'warning',
      problem: `HMRC's authority for ${eori} ends in ${Math.max(0, daysLeft)} days (18 months after it was granted).`,
      fix: `Ask the trader to connect again before then at ${connect}.`,
      href: connect,
    });
  for (const scope of activity.reconciliation.filter(reconciliationFailing))
    found.push({
      severity: 'warning',
      problem: `Reconciliation of ${scope.movementType}s is failing: ${scope.lastError}`,
      fix: 'See the reconciliation runbook (docs/OPERATIONS.md#ctcreconciliationstale).',
      href: null,
    });
  return found;
}

export function traderJson(
  eori: string,
  row: ConnectionRow | undefined,
  activity: TraderActivity,
  now: Date,
) {
  const connection = connectionStateOf(
    row && {
      eori,
      kind: 'user',
      consentedAt: row.consentedAt,
      accessExpiresAt: row.accessExpiresAt,
      hasRefreshToken: row.hasRefreshToken,
      refreshRefusedAt: row.refreshRefusedAt,
      verification: row.verification,
      vouched: row.vouched,
    },
    now,
  );
  const withEori = { ...connection, eori } as EoriConnection;
  const expiresAt = row === undefined ? null : reconsentByOf(row.consentedAt);
  const daysLeft =
    expiresAt === null ? null : Math.floor((expiresAt.getTime() - now.getTime()) / 86_400_000);
  const attention = attentionOf(eori, withEori, row, activity, daysLeft);
  const lastCall = lastCallOf(row, activity);
  return {
    eori,
    tokenState: tokenStateOf[withEori.state],
    needsAction: attention.length > 0,
    attention,
    connectedAt: isoOrNull(row?.consentedAt ?? null),
    connectedBy: row?.connectedBy ?? null,
    consent:
      expiresAt === null
        ? null
        : {
            expiresAt: iso(expiresAt),
            daysLeft,
            expiringSoon: daysLeft !== null && daysLeft <= expiringWithinDays,
          },
    token:
      row === undefined
        ? null
        : {
            accessExpiresAt: iso(row.accessExpiresAt),
            lastRefreshedAt: isoOrNull(row.refreshedAt),
            refreshCount: row.refreshCount,
            refreshRefusedAt: isoOrNull(row.refreshRefusedAt),
            refreshError: row.refreshError,
            verification: row.verification,
          },
    lastHmrcCall:
      lastCall === null
        ? null
        : {
            at: iso(lastCall.at),
            what: lastCall.what,
            outcome: lastCall.outcome,
            detail: lastCall.detail,
          },
    reconciliation: activity.reconciliation.map((scope) =>
      reconciliationJson(scope, now.getTime()),
    ),
    counts: {
      movements: activity.movements,
      submissions: {
        total: Object.values(activity.submissions).reduce((sum, count) => sum + count, 0),
        ...activity.submissions,
      },
      deadLetters: activity.deadLetters,
    },
    _links: {
      self: { href: `/v1/traders/${eori}` },
      connect: { href: connectPath(eori) },
      connection: { href: `/v1/connections/${eori}` },
      submissions: { href: `/v1/submissions?eori=${eori}` },
      deadLetters: { href: `/v1/dead-letters?eori=${eori}` },
    },
  };
}

export type TraderJson = ReturnType<typeof traderJson>;
