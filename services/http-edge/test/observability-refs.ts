// What the committed observability config refers to: the Grafana dashboards' and the alert
// rules' PromQL expressions under deploy/observability, and the metric names in them (ours all
// start with one of the services' prefixes; `up` is Prometheus' own). Shared by the deploy-config
// test and the metrics test that scrapes a real run.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const OBSERVABILITY_DIR = resolve(__dirname, '..', '..', '..', 'deploy', 'observability');
export const DASHBOARDS_DIR = join(OBSERVABILITY_DIR, 'grafana', 'dashboards');

export interface Dashboard {
  uid: string;
  title: string;
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
}

export interface AlertRule {
  alert: string;
  expr: string;
  annotations?: Record<string, string>;
}

export function dashboards(): Array<{ file: string; dashboard: Dashboard }> {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard }));
}

export function alertRules(): AlertRule[] {
  const doc = parseYaml(readFileSync(join(OBSERVABILITY_DIR, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules);
}

/** Every expression, with where it comes from. */
export function expressions(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const { file, dashboard } of dashboards()) {
    for (const p of dashboard.panels) for (const t of p.targets ?? []) out.push({ where: `${file}: ${p.title}`, expr: t.expr });
  }
  for (const r of alertRules()) out.push({ where: `alerts.yml: ${r.alert}`, expr: r.expr });
  return out;
}

const OUR_METRIC = /\b((?:rpc|haier|catalog|sync|db_pool|edge)_[a-z0-9_]+)\b/g;

/** The metric names an expression reads (label values in quotes are left out). */
export function metricNames(expr: string): string[] {
  const unquoted = expr.replace(/"[^"]*"/g, '""');
  return [...new Set([...unquoted.matchAll(OUR_METRIC)].map((m) => m[1]!))];
}

/** name -> the expressions that use it. */
export function referencedMetrics(): Map<string, string[]> {
  const refs = new Map<string, string[]>();
  for (const { where, expr } of expressions()) for (const n of metricNames(expr)) refs.set(n, [...(refs.get(n) ?? []), where]);
  return refs;
}

/** A Prometheus text scrape: each sample name's summed value, and each family's TYPE. */
export interface Scrape {
  samples: Map<string, number>;
  types: Map<string, string>;
}

export function parseScrape(text: string): Scrape {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    samples.set(name, (samples.get(name) ?? 0) + (Number.isFinite(value) ? value : 0));
  }
  return { samples, types };
}

/** The family (TYPE line) a sample name belongs to: histogram samples end in _bucket, _sum, _count. */
export function familyOf(scrape: Scrape, sample: string): { family: string; type: string } | undefined {
  if (scrape.types.has(sample)) return { family: sample, type: scrape.types.get(sample)! };
  const base = sample.replace(/_(bucket|sum|count)$/, '');
  return scrape.types.has(base) ? { family: base, type: scrape.types.get(base)! } : undefined;
}
