import type { MinuteCount } from './ops-types.js';

/** Escapes text for HTML element content and double-quoted attributes. */
export const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character]!,
  );

/** `HH:MM` in UTC: the page states its times in UTC so every operator reads the same clock. */
export const hhmm = (iso: string): string => iso.slice(11, 16);

/** A round axis maximum at or above `value` (1, 2, 5 × 10^n). */
export function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

export interface ChartOptions {
  id: string;
  title: string;
  /** One sentence summarising the data for people who cannot see the chart. */
  description: string;
  unit: string;
  /** A horizontal reference line (e.g. the HMRC budget per minute). */
  limit?: { value: number; label: string };
}

/**
 * A per-minute bar chart as inline SVG: drawn on the server, no script, no external request. Each
 * bar carries its minute and count (data-* and a <title> tooltip); the table beside it is the
 * accessible equivalent.
 */
export function barChart(minutes: readonly MinuteCount[], options: ChartOptions): string {
  const width = 720;
  const height = 220;
  const left = 44;
  const right = 12;
  const top = 14;
  const bottom = 28;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const peak = Math.max(0, ...minutes.map((minute) => minute.count));
  const max = niceCeiling(Math.max(peak, options.limit?.value ?? 0));
  const slot = plotWidth / Math.max(1, minutes.length);
  const y = (value: number) => top + plotHeight - (value / max) * plotHeight;

  const bars = minutes
    .map((minute, index) => {
      const barHeight = (minute.count / max) * plotHeight;
      const label = `${hhmm(minute.minute)} UTC: ${minute.count} ${options.unit}`;
      return (
        `<rect class="bar" x="${(left + index * slot + 1).toFixed(1)}" y="${y(minute.count).toFixed(1)}"` +
        ` width="${Math.max(1, slot - 2).toFixed(1)}" height="${barHeight.toFixed(1)}"` +
        ` data-minute="${minute.minute}" data-count="${minute.count}"><title>${escapeHtml(label)}</title></rect>`
      );
    })
    .join('');
  const ticks = [0, max / 2, max]
    .map(
      (value) =>
        `<line class="grid" x1="${left}" x2="${width - right}" y1="${y(value)}" y2="${y(value)}"/>` +
        `<text class="axis" x="${left - 6}" y="${y(value) + 4}" text-anchor="end">${value}</text>`,
    )
    .join('');
  const timeLabels = minutes
    .map((minute, index) => ({ minute, index }))
    .filter(({ index }) => index % 10 === 0 || index === minutes.length - 1)
    .map(
      ({ minute, index }) =>
        `<text class="axis" x="${(left + index * slot + slot / 2).toFixed(1)}" y="${height - 8}" text-anchor="middle">${hhmm(minute.minute)}</text>`,
    )
    .join('');
  const limit =
    options.limit === undefined
      ? ''
      : `<line class="limit" x1="${left}" x2="${width - right}" y1="${y(options.limit.value)}" y2="${y(options.limit.value)}"/>` +
        `<text class="limit-label" x="${width - right}" y="${y(options.limit.value) - 4}" text-anchor="end">${escapeHtml(options.limit.label)}</text>`;

  return (
    `<svg id="${options.id}" class="chart" viewBox="0 0 ${width} ${height}" role="img"` +
    ` aria-labelledby="${options.id}-title ${options.id}-desc" data-peak="${peak}">` +
    `<title id="${options.id}-title">${escapeHtml(options.title)}</title>` +
    `<desc id="${options.id}-desc">${escapeHtml(options.description)}</desc>` +
    `${ticks}${bars}${limit}${timeLabels}</svg>`
  );
}

/** The same data as a table (inside <details>), for screen readers and copying numbers. */
export function minuteTable(
  id: string,
  minutes: readonly MinuteCount[],
  caption: string,
  unit: string,
): string {
  const rows = [...minutes]
    .reverse()
    .map(
      (minute) =>
        `<tr><th scope="row"><time datetime="${minute.minute}">${hhmm(minute.minute)}</time></th><td class="num">${minute.count}</td></tr>`,
    )
    .join('');
  return (
    `<details id="${id}"><summary>${escapeHtml(caption)} as a table</summary>` +
    `<table><caption>${escapeHtml(caption)} (newest first)</caption>` +
    `<thead><tr><th scope="col">Minute (UTC)</th><th scope="col">${escapeHtml(unit)}</th></tr></thead>` +
    `<tbody>${rows}</tbody></table></details>`
  );
}
