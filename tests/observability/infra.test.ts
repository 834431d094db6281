// Risk retired: alert rules and the dashboard that do not load, alerts without a severity, a
// `for` or a runbook that exists, and Prometheus scraping ports the services do not listen on.
// (Whether every metric they use is really exported: tests/e2e/metrics-coverage.int.test.ts.)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@ctc-hub/testing';
import { parse, stringify } from 'yaml';
import {
  alertsPath,
  loadAlertRules,
  loadDashboard,
  metricNames,
  observabilityExpressions,
} from './promql.js';

const operations = readFileSync(`${repoRoot}docs/OPERATIONS.md`, 'utf8');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const anchors = new Set(
  operations
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) =>
      line
        .replace(/^#+ /, '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
);

describe('infra/prometheus/alerts.yml', () => {
  const rules = loadAlertRules();

  it('parses into alerting rules', () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(rules.every((rule) => typeof rule.alert === 'string')).toBe(true);
    expect(new Set(rules.map((rule) => rule.alert)).size).toBe(rules.length);
  });

  it.each(loadAlertRules().map((rule) => [rule.alert!, rule]))(
    '%s has an expression, a duration, a severity, a summary and a runbook that exists',
    (_name, rule) => {
      expect(typeof rule.expr).toBe('string');
      expect(rule.expr!.trim()).not.toBe('');
      expect(rule.for).toMatch(/^\d+[smhd]$/);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary?.trim()).toBeTruthy();
      expect(rule.annotations?.description?.trim()).toBeTruthy();
      const runbook = /^docs\/OPERATIONS\.md#([a-z0-9-]+)$/.exec(rule.annotations?.runbook ?? '');
      expect(runbook).not.toBeNull();
      expect(anchors).toContain(runbook![1]);
    },
  );

  it('covers what operators asked to be alerted on', () => {
    const uses = (metric: string) =>
      rules.filter((rule) => metricNames(rule.expr ?? '').includes(metric)).map((r) => r.alert);
    expect(uses('ctc_queue_oldest_waiting_age_seconds').length).toBeGreaterThan(0); // backlog age
    expect(uses('ctc_dead_letters').length).toBeGreaterThan(0);
    expect(
      rules.some((rule) =>
        /ctc_receiver_notifications_total\{outcome="queue_unavailable"\}/.test(rule.expr!),
      ),
    ).toBe(true); // receiver 503s
    expect(uses('ctc_reconcile_recovered_messages_total').length).toBeGreaterThan(0); // gaps
    expect(uses('ctc_reconcile_last_success_age_seconds').length).toBeGreaterThan(0); // stale
    expect(uses('hmrc_token_refresh_failures_total').length).toBeGreaterThan(0);
    expect(uses('hmrc_tokens_near_reconsent').length).toBeGreaterThan(0);
    expect(rules.some((rule) => /hmrc_requests_total\{status="429"\}/.test(rule.expr!))).toBe(true);
    // Issue 13: broken connections, declarations failing or slow, API errors and latency,
    // webhook lag.
    expect(uses('ctc_trader_tokens')).toEqual(['CtcTraderConnectionBroken']);
    expect(uses('ctc_submissions_total')).toEqual(['CtcSubmissionsFailing']);
    expect(uses('ctc_submission_answer_seconds_bucket')).toEqual(['CtcSubmissionsSlow']);
    expect(uses('ctc_api_request_duration_seconds_count')).toEqual(['CtcApiErrors']);
    expect(uses('ctc_api_request_duration_seconds_bucket')).toEqual(['CtcApiSlow']);
    expect(uses('ctc_webhook_lag_seconds')).toEqual(['CtcWebhookLagging']);
  });
});

describe('infra/prometheus/prometheus.yml', () => {
  const config = parse(readFileSync(`${repoRoot}infra/prometheus/prometheus.yml`, 'utf8')) as {
    rule_files: string[];
    scrape_configs: {
      job_name: string;
      metrics_path?: string;
      static_configs: { targets: string[] }[];
    }[];
  };
  const compose = parse(readFileSync(`${repoRoot}docker-compose.yml`, 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, string> }>;
  };

  it('loads the alert rules', () => {
    expect(config.rule_files).toContain('alerts.yml');
  });

  it.each([
    ['receiver', 'RECEIVER_PORT'],
    ['api', 'API_PORT'],
    ['worker', 'WORKER_PORT'],
  ])('scrapes %s on the port docker-compose gives it', (service, portVariable) => {
    const job = config.scrape_configs.find((candidate) => candidate.job_name === service);
    expect(job).toBeDefined();
    expect(job!.metrics_path ?? '/metrics').toBe('/metrics');
    const port = compose.services[service]!.environment![portVariable];
    expect(job!.static_configs.flatMap((entry) => entry.targets)).toEqual([`${service}:${port}`]);
  });
});

describe('infra/grafana/ctc-hub.json', () => {
  const dashboard = loadDashboard();
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');

  it('is a dashboard with a stable uid whose panels all query Prometheus', () => {
    expect(dashboard.uid).toBe('ctc-hub');
    expect(panels.length).toBeGreaterThanOrEqual(20);
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of panels) {
      expect([panel.title, panel.datasource?.uid]).toEqual([panel.title, '${datasource}']);
      expect([panel.title, (panel.targets ?? []).length > 0]).toEqual([panel.title, true]);
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
  });

  it('shows every signal operators asked for', () => {
    const used = new Set(
      panels.flatMap((panel) =>
        (panel.targets ?? []).flatMap((target) => metricNames(target.expr)),
      ),
    );
    for (const metric of [
      'ctc_ingest_notifications_total',
      'ctc_ingest_latency_seconds_bucket',
      'ctc_ingest_end_to_end_latency_seconds_bucket',
      'ctc_receiver_notifications_total',
      'ctc_receiver_ack_duration_seconds_bucket',
      'ctc_queue_jobs',
      'ctc_queue_oldest_waiting_age_seconds',
      'hmrc_requests_total',
      'hmrc_rate_budget_wait_seconds_bucket',
      'ctc_dead_letters',
      'ctc_reconcile_recovered_messages_total',
      'ctc_reconcile_last_success_age_seconds',
      'hmrc_tokens_near_reconsent',
      'ctc_webhook_deliveries_total',
      // Issue 13: declarations, API requests, webhook lag and traders' connections.
      'ctc_submissions_total',
      'ctc_submission_attempts_bucket',
      'ctc_submission_answer_seconds_bucket',
      'ctc_api_request_duration_seconds_count',
      'ctc_api_request_duration_seconds_bucket',
      'ctc_webhook_lag_seconds',
      'ctc_trader_tokens',
    ])
      expect([metric, used.has(metric)]).toEqual([metric, true]);
  });

  it('groups traders, declarations and the API in rows of their own', () => {
    const rows = dashboard.panels.filter((panel) => panel.type === 'row').map((row) => row.title);
    expect(rows).toEqual(expect.arrayContaining(['Traders', 'Declarations', 'API']));
  });
});

describe('metricNames', () => {
  it.each([
    [
      'histogram_quantile(0.95, sum by (le, outcome) (rate(ctc_fetch_duration_seconds_bucket{outcome!="ok"}[$__rate_interval])))',
      ['ctc_fetch_duration_seconds_bucket'],
    ],
    [
      'sum(rate(a_total{outcome="queue_unavailable"}[5m])) / clamp_min(sum(rate(a_total[5m])), 1e-9) > 0.05',
      ['a_total'],
    ],
    [
      'max by (kind) (g{status="open"}) - (max by (kind) (g offset 30m) or 0 * max by (kind) (g)) > 0',
      ['g'],
    ],
    ['up{job=~"receiver|worker"} == 0 and on (job) b:recorded', ['b:recorded', 'up']],
    ['sum(x{endpoint!~"POST /oauth/token.*"}) by (endpoint)', ['x']],
  ])('finds the metrics in %s', (expression, expected) => {
    expect(metricNames(expression)).toEqual(expected);
  });

  it('finds metrics in every expression of the dashboard and the alerts', () => {
    for (const { where, expr } of observabilityExpressions())
      expect([where, metricNames(expr).length > 0]).toEqual([where, true]);
  });
});

// promtool (Debian package `prometheus`) compiles the expressions with Prometheus' own parser and
// runs the alert unit tests in infra/prometheus/alerts.test.yml. Where it is not installed the
// checks above still run; these three are skipped with a message.
const promtool = spawnSync('promtool', ['--version']).status === 0;
const withPromtool = promtool ? describe : describe.skip;
if (!promtool)
  console.warn('promtool not installed (apt-get install prometheus): skipping its checks');

withPromtool('promtool', () => {
  it('accepts the alert rules', () => {
    execFileSync('promtool', ['check', 'rules', alertsPath], { stdio: 'pipe' });
  });

  it('passes the alert unit tests', () => {
    execFileSync('promtool', ['test', 'rules', 'alerts.test.yml'], {
      cwd: `${repoRoot}infra/prometheus`,
      stdio: 'pipe',
    });
  });

  it('parses every dashboard expression', () => {
    const directory = mkdtempSync(join(tmpdir(), 'ctc-dashboard-'));
    try {
      const rules = loadDashboard()
        .panels.flatMap((panel) => panel.targets ?? [])
        .map((target, index) => ({
          record: `dashboard:expression_${index}`,
          expr: target.expr.replace(/\$__\w+/g, '5m'),
        }));
      const file = join(directory, 'dashboard-rules.yml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      execFileSync('promtool', ['check', 'rules', file], { stdio: 'pipe' });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
