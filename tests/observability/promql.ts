import { readFileSync } from 'node:fs';
import { repoRoot } from '@ctc-hub/testing';
import { parse } from 'yaml';

/**
 * Metric names used in PromQL expressions, as they must appear in a scrape (`x_bucket` for a
 * histogram quantile, `x_total` for a counter): strings, label matchers, ranges and grouping
 * labels are dropped, then every identifier that is not a function, keyword or number is a
 * metric. Grafana's `$variables` are replaced first.
 */
export function metricNames(expression: string): string[] {
  const stripped = expression
    .replace(/\$__\w+/g, '5m')
    .replace(/\$\{?\w+\}?/g, 'x')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const keywords = new Set([
    'and',
    'or',
    'unless',
    'bool',
    'offset',
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'inf',
    'nan',
    'atan2',
  ]);
  const names = new Set<string>();
  for (const match of stripped.matchAll(
    /\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*|[a-zA-Z_:][a-zA-Z0-9_:]*/gi,
  )) {
    const token = match[0];
    if (/^\d/.test(token) || keywords.has(token.toLowerCase())) continue;
    const rest = stripped.slice(match.index + token.length);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation
    names.add(token);
  }
  return [...names].sort();
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export const alertsPath = `${repoRoot}infra/prometheus/alerts.yml`;
export const dashboardPath = `${repoRoot}infra/grafana/ctc-hub.json`;

export function loadAlertRules(): AlertRule[] {
  const document = parse(readFileSync(alertsPath, 'utf8')) as {
    groups: { name: string; rules: AlertRule[] }[];
  };
  return document.groups.flatMap((group) => group.rules);
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
}

export function loadDashboard(): { uid: string; title: string; panels: DashboardPanel[] } {
  return JSON.parse(readFileSync(dashboardPath, 'utf8'));
}

/** Every PromQL expression of the dashboard and the alert rules, with where it comes from. */
export function observabilityExpressions(): { where: string; expr: string }[] {
  const fromDashboard = loadDashboard().panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `dashboard panel "${panel.title}" ${target.refId}`,
      expr: target.expr,
    })),
  );
  const fromAlerts = loadAlertRules().map((rule) => ({
    where: `alert ${rule.alert}`,
    expr: rule.expr ?? '',
  }));
  return [...fromDashboard, ...fromAlerts];
}

/** Series Prometheus makes itself (not exported by any service). */
export const prometheusGenerated = new Set(['up']);

/** Sample names in a Prometheus text exposition. */
export function scrapedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (match !== null) names.add(match[1]!);
  }
  return names;
}
