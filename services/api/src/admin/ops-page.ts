import { barChart, escapeHtml, minuteTable } from './ops-chart.js';
import { queueStates, type OpsData } from './ops-data.js';

/** Seconds as an operator reads them: 42 s, 7 min, 3.5 h, 2.1 d. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return 'never';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

const time = (iso: string | null) =>
  iso === null ? '—' : `<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}</time>`;

function queuesSection(data: OpsData): string {
  const head = queueStates.map((state) => `<th scope="col" class="num">${state}</th>`).join('');
  const rows = data.queues
    .map(
      (queue) =>
        `<tr data-queue="${escapeHtml(queue.name)}"><th scope="row">${escapeHtml(queue.name)}</th>` +
        queueStates
          .map(
            (state) =>
              `<td class="num${state === 'failed' && queue.counts.failed > 0 ? ' warn' : ''}" data-state="${state}">${queue.counts[state]}</td>`,
          )
          .join('') +
        `<td class="num" data-state="oldest-waiting">${formatAge(queue.oldestWaitingAgeSeconds)}</td></tr>`,
    )
    .join('');
  return `<section aria-labelledby="queues-heading"><h2 id="queues-heading">Queues</h2>
<table id="queues"><caption>Jobs per queue and state, and how long the oldest waiting job has waited</caption>
<thead><tr><th scope="col">Queue</th>${head}<th scope="col" class="num">Oldest waiting</th></tr></thead>
<tbody>${rows}</tbody></table>
<p><a href="/admin/queues">Open the queues in bull-board</a> to see individual jobs.</p></section>`;
}

function throughputSection(data: OpsData): string {
  const { minutes, total } = data.throughput;
  const lastFull = minutes.at(-2)?.count ?? 0;
  return `<section aria-labelledby="throughput-heading"><h2 id="throughput-heading">Messages stored</h2>
<p><strong id="throughput-total">${total}</strong> messages stored in the last hour; ${lastFull} in the last full minute.</p>
${barChart(minutes, {
  id: 'throughput-chart',
  title: 'Messages stored per minute, last hour (UTC)',
  description: `${total} messages in the last hour; busiest minute ${Math.max(0, ...minutes.map((m) => m.count))}.`,
  unit: 'messages',
})}
${minuteTable('throughput-table', minutes, 'Messages stored per minute', 'Messages')}</section>`;
}

function deadLettersSection(data: OpsData): string {
  const rows = data.deadLetters.byKind
    .map(
      (row) =>
        `<tr data-kind="${escapeHtml(row.kind)}" data-status="${escapeHtml(row.status)}"><th scope="row">${escapeHtml(row.kind)}</th>` +
        `<td>${escapeHtml(row.status)}</td><td class="num${row.status === 'open' ? ' warn' : ''}">${row.count}</td></tr>`,
    )
    .join('');
  const body =
    rows === ''
      ? '<p>No dead letters.</p>'
      : `<table id="dead-letters"><caption>Dead letters by kind and status</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Status</th><th scope="col" class="num">Count</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  return `<section aria-labelledby="dead-letters-heading"><h2 id="dead-letters-heading">Dead letters</h2>
<p><strong id="dead-letters-open">${data.deadLetters.open}</strong> open. Inspect and replay them with <code>GET /v1/dead-letters</code>.</p>
${body}</section>`;
}

function reconciliationSection(data: OpsData): string {
  const { scopes, total, recovered } = data.reconciliation;
  const rows = scopes
    .map(
      (scope) =>
        `<tr><th scope="row">${escapeHtml(scope.scope)}</th><td>${escapeHtml(scope.kind)}</td>` +
        `<td>${time(scope.lastSuccessAt)}</td><td class="num">${formatAge(scope.lastSuccessAgeSeconds)}</td>` +
        `<td>${time(scope.lastRunAt)}</td><td class="num">${scope.runs}</td><td class="num">${scope.recovered}</td>` +
        `<td>${scope.lastError === null ? '' : `<span class="warn">${escapeHtml(scope.lastError.slice(0, 200))}</span>`}</td></tr>`,
    )
    .join('');
  const body =
    total === 0
      ? '<p>Reconciliation has not run yet.</p>'
      : `<table id="reconciliation"><caption>Reconciliation scopes, stalest first${total > scopes.length ? ` (${scopes.length} of ${total})` : ''}</caption>
<thead><tr><th scope="col">Scope</th><th scope="col">Kind</th><th scope="col">Last success (UTC)</th><th scope="col" class="num">Age</th><th scope="col">Last run (UTC)</th><th scope="col" class="num">Runs</th><th scope="col" class="num">Recovered</th><th scope="col">Last error</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  return `<section aria-labelledby="reconciliation-heading"><h2 id="reconciliation-heading">Reconciliation</h2>
<p>${recovered} messages recovered in total that push had missed.</p>
${body}</section>`;
}

function budgetSection(data: OpsData): string {
  const budget = data.hmrcBudget;
  const lastFull = budget.minutes.at(-2)?.count ?? 0;
  return `<section aria-labelledby="budget-heading"><h2 id="budget-heading">HMRC rate budget</h2>
<p>Budget ${budget.budgetPerMinute} calls per minute (${budget.limitPerSecond}/s, shared by every worker; paced at most ${budget.pacedPerMinute}).
Last full minute: <strong id="budget-last-minute">${lastFull}</strong> calls (${Math.round((lastFull / budget.budgetPerMinute) * 100)}%); busiest minute of the hour ${Math.round(budget.peakUse * 100)}%.</p>
${barChart(budget.minutes, {
  id: 'budget-chart',
  title: 'HMRC calls per minute against the budget, last hour (UTC)',
  description: `Busiest minute used ${Math.round(budget.peakUse * 100)}% of the ${budget.budgetPerMinute} calls per minute budget.`,
  unit: 'calls',
  limit: { value: budget.budgetPerMinute, label: `budget ${budget.budgetPerMinute}/min` },
})}
${minuteTable('budget-table', budget.minutes, 'HMRC calls per minute', 'Calls')}</section>`;
}

function connectionsSection(data: OpsData): string {
  const { attention, total } = data.connections;
  const rows = attention
    .map((row) => {
      const what =
        row.verification === 'mismatched'
          ? `<span class="warn">Mismatched: HMRC shows the token is ${escapeHtml(row.observedEori ?? 'another EORI')}'s</span>`
          : 'Unverified: HMRC lists no movement for it and no operator vouches for it';
      const fix =
        row.verification === 'mismatched'
          ? `Resolve: <code>POST /v1/connections/${escapeHtml(row.eori)}/resolve</code>, then connect again signing in as ${escapeHtml(row.eori)}`
          : `Confirm: <code>POST /v1/connections/${escapeHtml(row.eori)}/confirm</code>`;
      return (
        `<tr data-eori="${escapeHtml(row.eori)}" data-verification="${escapeHtml(row.verification)}"><th scope="row">${escapeHtml(row.eori)}</th>` +
        `<td>${what}</td><td>${time(row.since)}</td><td class="num">${row.quarantinedMovements}</td><td>${fix}</td></tr>`
      );
    })
    .join('');
  const body =
    rows === ''
      ? '<p>No connection needs attention.</p>'
      : `<table id="connections"><caption>Trader connections needing an operator</caption>
<thead><tr><th scope="col">EORI</th><th scope="col">Problem</th><th scope="col">Since (UTC)</th><th scope="col" class="num">Quarantined movements</th><th scope="col">What to do</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  return `<section aria-labelledby="connections-heading"><h2 id="connections-heading">Trader connections</h2>
<p>${total} connected; <strong id="connections-attention">${attention.length}</strong> need attention. Details at <code>GET /v1/connections</code>.</p>
${body}</section>`;
}

/** The overview's <main>; the page script swaps it for a fresh one on each refresh. */
export function renderOpsMain(data: OpsData): string {
  return `<main id="main">
<p class="generated">Data as of ${time(data.generatedAt)} UTC.</p>
${queuesSection(data)}
${throughputSection(data)}
${connectionsSection(data)}
${deadLettersSection(data)}
${reconciliationSection(data)}
${budgetSection(data)}
</main>`;
}

export function renderOpsPage(data: OpsData, assetsPath: string): string {
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ctc-hub operations</title>
<link rel="icon" type="image/svg+xml" href="${assetsPath}/favicon.svg">
<link rel="stylesheet" href="${assetsPath}/ops.css">
<script src="${assetsPath}/ops.js" defer></script>
</head>
<body>
<header>
<h1>ctc-hub operations</h1>
<nav aria-label="Operator tools"><a href="/admin/queues">Queues (bull-board)</a> · <a href="/ops/data">JSON</a></nav>
<p class="controls"><label><input type="checkbox" id="auto-refresh" checked> Refresh every 15 seconds</label>
<span id="refresh-status"></span><span id="refresh-error" role="alert"></span></p>
</header>
${renderOpsMain(data)}
</body>
</html>
`;
}
