import { barChart, escapeHtml, minuteTable } from './ops-chart.js';
import { queueStates, type OpsData } from './ops-data.js';
import {
  cell,
  deadLetterCodesTable,
  formatAge,
  latencySection,
  submissionsSection,
  time,
  tradersSection,
  verdictSection,
} from './ops-sections.js';

export { formatAge } from './ops-sections.js';

function queuesSection(data: OpsData): string {
  const head = queueStates.map((state) => `<th scope="col" class="num">${state}</th>`).join('');
  const rows = data.queues
    .map(
      (queue) =>
        `<tr data-queue="${escapeHtml(queue.name)}"><th scope="row" data-label="Queue">${escapeHtml(queue.name)}</th>` +
        queueStates
          .map(
            (state) =>
              `<td data-label="${state}" class="num${state === 'failed' && queue.counts.failed > 0 ? ' warn' : ''}" data-state="${state}">${queue.counts[state]}</td>`,
          )
          .join('') +
        `<td data-label="Oldest waiting" class="num" data-state="oldest-waiting">${formatAge(queue.oldestWaitingAgeSeconds)}</td>` +
        `<td data-label="Oldest delayed" class="num${queue.delayed.retrying > 0 ? ' warn' : ''}" data-state="oldest-delayed">${queue.counts.delayed === 0 ? '—' : formatAge(queue.delayed.oldestAgeSeconds)}</td>` +
        cell(
          'Retrying',
          queue.delayed.retrying,
          `num${queue.delayed.retrying > 0 ? ' warn' : ''}`,
        ) +
        cell(
          'Next due',
          queue.delayed.nextDueInSeconds === null
            ? '—'
            : `in ${formatAge(queue.delayed.nextDueInSeconds)}`,
          'num',
        ) +
        '</tr>',
    )
    .join('');
  const body =
    data.queueError !== null
      ? `<p class="warn" id="queue-error">The queues cannot be read: ${escapeHtml(data.queueError)}</p>`
      : `<table id="queues" class="stack compact"><caption>Jobs per queue and state; how long the oldest waiting and the oldest delayed job (a retry waiting out its backoff) have existed</caption>
<thead><tr><th scope="col">Queue</th>${head}<th scope="col" class="num">Oldest waiting</th><th scope="col" class="num">Oldest delayed</th><th scope="col" class="num">Retrying</th><th scope="col" class="num">Next due</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  return `<section aria-labelledby="queues-heading"><h2 id="queues-heading">Queues</h2>
${body}
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
        `<tr data-kind="${escapeHtml(row.kind)}" data-status="${escapeHtml(row.status)}"><th scope="row" data-label="Kind">${escapeHtml(row.kind)}</th>` +
        cell('Status', escapeHtml(row.status)) +
        cell('Count', row.count, `num${row.status === 'open' ? ' warn' : ''}`) +
        '</tr>',
    )
    .join('');
  const body =
    rows === ''
      ? '<p>No dead letters.</p>'
      : `${deadLetterCodesTable(data)}<table id="dead-letters" class="stack"><caption>Dead letters by kind and status</caption>
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
        `<tr><th scope="row" data-label="Scope" class="id">${escapeHtml(scope.scope)}</th>` +
        cell('Kind', escapeHtml(scope.kind)) +
        cell('Last success (UTC)', time(scope.lastSuccessAt)) +
        cell('Age', formatAge(scope.lastSuccessAgeSeconds), 'num') +
        cell('Last run (UTC)', time(scope.lastRunAt)) +
        cell('Runs', scope.runs, 'num') +
        cell('Recovered', scope.recovered, 'num') +
        cell(
          'Last error',
          scope.lastError === null
            ? ''
            : `<span class="warn">${escapeHtml(scope.lastError.slice(0, 200))}</span>`,
          'cause',
        ) +
        '</tr>',
    )
    .join('');
  const body =
    total === 0
      ? '<p>Reconciliation has not run yet.</p>'
      : `<table id="reconciliation" class="stack"><caption>Reconciliation scopes, stalest first${total > scopes.length ? ` (${scopes.length} of ${total})` : ''}</caption>
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

/** The overview's <main>; the page script swaps it for a fresh one on each refresh. */
export function renderOpsMain(data: OpsData): string {
  return `<main id="main">
<p class="generated">Data as of ${time(data.generatedAt)} UTC.</p>
${verdictSection(data)}
${submissionsSection(data)}
${tradersSection(data)}
${queuesSection(data)}
${latencySection(data)}
${deadLettersSection(data)}
${throughputSection(data)}
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
