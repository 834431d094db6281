import { escapeHtml } from './ops-chart.js';
import type { OpsData } from './ops-data.js';

/**
 * The /ops sections that answer "is it working, and what is stuck?": the verdict, declarations in
 * flight, ingest latency, dead letters by error code and traders needing action. Tables carry a
 * data-label on every cell so that at phone width they stack into label/value cards instead of
 * running off the screen (ops-assets.ts).
 */

/** Seconds as an operator reads them: 42 s, 7 min, 3.5 h, 2.1 d. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return 'never';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

export const time = (iso: string | null) =>
  iso === null ? '—' : `<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}</time>`;

/** A cell that stacks under its label at phone width. */
export const cell = (label: string, content: string | number, className = '') =>
  `<td data-label="${escapeHtml(label)}"${className === '' ? '' : ` class="${className}"`}>${content}</td>`;

const verdictTitles = {
  healthy: 'Healthy: messages flow and nothing is stuck',
  degraded: 'Degraded: working, but something needs attention',
  down: 'Down: messages are not flowing',
} as const;

export function verdictSection(data: OpsData): string {
  const { level, reasons } = data.verdict;
  const items = reasons
    .map(
      (reason) =>
        `<li class="reason-${reason.level}"><a href="#${reason.anchor}">${escapeHtml(reason.text)}</a></li>`,
    )
    .join('');
  return `<section id="verdict" class="verdict verdict-${level}" role="status" aria-labelledby="verdict-heading" data-level="${level}">
<h2 id="verdict-heading">${verdictTitles[level]}</h2>
${items === '' ? '<p>No queue is behind, no declaration is stuck, no trader needs action, no new dead letter.</p>' : `<ul id="verdict-reasons">${items}</ul>`}
</section>`;
}

export function submissionsSection(data: OpsData): string {
  const { counts, stuck, failed, oldestInFlightAgeSeconds } = data.submissions;
  const rows = [...stuck, ...failed]
    .map(
      (submission) =>
        `<tr data-submission="${escapeHtml(submission.submissionId)}" data-state="${submission.state}">` +
        `<th scope="row" data-label="State"${submission.state === 'retrying' || submission.state === 'failed' ? ' class="warn"' : ''}>${submission.state}</th>` +
        cell(
          'EORI',
          `<a href="#trader-${escapeHtml(submission.eori)}">${escapeHtml(submission.eori)}</a>`,
        ) +
        cell(
          'Message',
          `${escapeHtml(submission.messageType)} ${escapeHtml(submission.lrn ?? '')}`,
        ) +
        cell('Age', formatAge(submission.ageSeconds), 'num') +
        cell('Attempts', submission.attempts, 'num') +
        cell(
          'Cause',
          submission.cause === null ? '—' : escapeHtml(submission.cause.slice(0, 300)),
          'cause',
        ) +
        cell('Next try (UTC)', time(submission.nextAttemptAt)) +
        cell(
          'Details',
          `<code>GET /v1/submissions/${escapeHtml(submission.submissionId)}</code>`,
          'id',
        ) +
        '</tr>',
    )
    .join('');
  const body =
    rows === ''
      ? '<p>No declaration is waiting, and none failed in the last hour.</p>'
      : `<table id="submissions" class="stack"><caption>Declarations not yet through, oldest first, then those that failed in the last hour</caption>
<thead><tr><th scope="col">State</th><th scope="col">EORI</th><th scope="col">Message</th><th scope="col" class="num">Age</th><th scope="col" class="num">Attempts</th><th scope="col">Cause</th><th scope="col">Next try (UTC)</th><th scope="col">Details</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  return `<section aria-labelledby="submissions-heading"><h2 id="submissions-heading">Declarations</h2>
<p><strong id="submissions-retrying">${counts.retrying}</strong> retrying, <strong id="submissions-queued">${counts.queued}</strong> queued, ${counts.sending} awaiting HMRC's answer${counts.queued + counts.retrying + counts.sending > 0 ? ` (the oldest for ${formatAge(oldestInFlightAgeSeconds)})` : ''}; <strong id="submissions-failed">${counts.failedLastHour}</strong> failed in the last hour.</p>
${body}</section>`;
}

export function latencySection(data: OpsData): string {
  const { count, p50Seconds, p99Seconds } = data.ingestLatency;
  const seconds = (value: number | null) => (value === null ? '—' : `${value.toFixed(2)} s`);
  return `<section aria-labelledby="latency-heading"><h2 id="latency-heading">Ingest latency</h2>
<p>From our receiver accepting a push to its message being stored, last hour (${count} notifications):
p50 <strong id="latency-p50">${seconds(p50Seconds)}</strong>, p99 <strong id="latency-p99">${seconds(p99Seconds)}</strong>.</p></section>`;
}

export function deadLetterCodesTable(data: OpsData): string {
  const rows = data.deadLetters.byCode
    .map(
      (code) =>
        `<tr data-kind="${escapeHtml(code.kind)}" data-code="${escapeHtml(code.errorCode)}">` +
        `<th scope="row" data-label="Error code">${escapeHtml(code.errorCode)}</th>` +
        cell('Kind', escapeHtml(code.kind)) +
        cell('Open', code.count, 'num warn') +
        cell('Newest', `${formatAge(code.newestAgeSeconds)} ago`, 'num') +
        cell('Example', escapeHtml(code.example.slice(0, 200)), 'cause') +
        cell(
          'List',
          `<code>GET /v1/dead-letters?kind=${escapeHtml(code.kind)}&amp;errorCode=${escapeHtml(code.errorCode)}</code>`,
          'id',
        ) +
        '</tr>',
    )
    .join('');
  if (rows === '') return '';
  return `<table id="dead-letter-codes" class="stack"><caption>Open dead letters by error code</caption>
<thead><tr><th scope="col">Error code</th><th scope="col">Kind</th><th scope="col" class="num">Open</th><th scope="col" class="num">Newest</th><th scope="col">Example</th><th scope="col">List</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

export function tradersSection(data: OpsData): string {
  const { total, connected, listed } = data.traders;
  const rows = listed
    .map((entry) => {
      const link =
        entry.href === null
          ? ''
          : entry.href.startsWith('/oauth/')
            ? ` <a class="action" href="${escapeHtml(entry.href)}">Reconnect ${escapeHtml(entry.eori)}</a>`
            : ` <code>${escapeHtml(entry.href)}</code>`;
      return (
        `<tr id="trader-${escapeHtml(entry.eori)}" data-eori="${escapeHtml(entry.eori)}" data-token-state="${escapeHtml(entry.tokenState)}" data-severity="${entry.severity}">` +
        `<th scope="row" data-label="EORI">${escapeHtml(entry.eori)}</th>` +
        cell('Token', escapeHtml(entry.tokenState), entry.severity === 'action' ? 'warn' : '') +
        cell('Problem', escapeHtml(entry.problem), 'cause') +
        cell('What to do', `${escapeHtml(entry.fix)}${link}`, 'cause') +
        '</tr>'
      );
    })
    .join('');
  const body =
    rows === ''
      ? '<p>No trader needs action.</p>'
      : `<table id="traders" class="stack"><caption>Traders needing action, those that cannot be served first</caption>
<thead><tr><th scope="col">EORI</th><th scope="col">Token</th><th scope="col">Problem</th><th scope="col">What to do</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  return `<section aria-labelledby="traders-heading"><h2 id="traders-heading">Traders</h2>
<p>${connected} known; <strong id="traders-attention">${total}</strong> need action. Every trader's connection, consent expiry and last HMRC call: <code>GET /v1/traders</code>.</p>
${body}</section>`;
}
