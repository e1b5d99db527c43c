// The committed deployment config checks out: Prometheus' config and alert rules by promtool
// (Debian's prometheus package; scripts/ensure-services.sh installs it) with a unit test for
// every alert, each alert's runbook line in docs/operations.md, the Grafana dashboards, the two
// compose layers, and the k8s kustomization (scrape annotations, disruption budgets, the edge's
// autoscaler, pinned images), and the image store's configuration in both.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { alertRules, dashboards, metricNames, OBSERVABILITY_DIR } from './observability-refs';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..', '..');
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
/** Compose where the Docker CLI has no compose plugin (Debian's docker-compose). */
const COMPOSE = process.env.DOCKER_COMPOSE ?? 'docker-compose';

async function tool(cmd: string, args: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  try {
    const r = await run(cmd, args, { cwd, timeout: 60_000, maxBuffer: 8 * 1024 * 1024 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error(`${cmd} is not installed: run scripts/ensure-services.sh (it installs Debian's prometheus package for promtool and docker-compose when the Docker CLI has no compose plugin)`);
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

describe('Prometheus config and alert rules (promtool)', () => {
  it('promtool check config accepts deploy/observability/prometheus.yml and its rule file', async () => {
    const r = await tool(PROMTOOL, ['check', 'config', 'prometheus.yml'], OBSERVABILITY_DIR);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('promtool test rules passes alerts.test.yml, which tests every alert of alerts.yml', async () => {
    const r = await tool(PROMTOOL, ['test', 'rules', 'alerts.test.yml'], OBSERVABILITY_DIR);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
    const tests = parseYaml(readFileSync(join(OBSERVABILITY_DIR, 'alerts.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const firing = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const quiet = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)));
    for (const rule of alertRules()) {
      expect({ alert: rule.alert, testedFiring: firing.has(rule.alert), testedQuiet: quiet.has(rule.alert) }).toEqual({ alert: rule.alert, testedFiring: true, testedQuiet: true });
    }
  });

  it('every alert names a severity and a runbook line that exists in docs/operations.md', () => {
    const ops = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const anchors = new Set([...ops.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    for (const rule of alertRules() as Array<{ alert: string; labels?: Record<string, string>; annotations?: Record<string, string> }>) {
      expect([rule.alert, rule.labels?.severity]).toEqual([rule.alert, expect.stringMatching(/^(critical|warning)$/)]);
      const runbook = rule.annotations?.runbook ?? '';
      expect([rule.alert, runbook]).toEqual([rule.alert, expect.stringMatching(/^docs\/operations\.md#[a-z0-9-]+$/)]);
      expect([rule.alert, anchors.has(runbook.split('#')[1]!)]).toEqual([rule.alert, true]);
    }
  });
});

describe('Grafana dashboards', () => {
  it('parse as JSON, have unique uids, and every panel queries Prometheus for at least one of our metrics (or up)', () => {
    const all = dashboards();
    expect(all.map((d) => d.file)).toEqual(['catalog.json', 'events.json', 'haier-budget.json', 'rpc-red.json', 'sync-runs.json']);
    expect(new Set(all.map((d) => d.dashboard.uid)).size).toBe(all.length);
    for (const { file, dashboard } of all) {
      expect(dashboard.panels.length).toBeGreaterThan(3);
      for (const p of dashboard.panels) {
        const exprs = (p.targets ?? []).map((t) => t.expr);
        expect([file, p.title, exprs.length > 0]).toEqual([file, p.title, true]);
        for (const e of exprs) expect([file, p.title, e, metricNames(e).length > 0 || /\bup\b/.test(e)]).toEqual([file, p.title, e, true]);
      }
    }
  });

  it('are provisioned: the provider reads the folder compose mounts, the data source uid is the one the panels name', () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'deploy', 'compose.observability.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { volumes?: string[] }> };
    const mounts = compose.services.grafana!.volumes!;
    expect(mounts).toContain('./observability/grafana/dashboards:/var/lib/grafana/dashboards:ro');
    const provider = parseYaml(readFileSync(join(OBSERVABILITY_DIR, 'grafana', 'provisioning', 'dashboards', 'haier-sync.yaml'), 'utf8')) as { providers: Array<{ options: { path: string } }> };
    expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
    const ds = parseYaml(readFileSync(join(OBSERVABILITY_DIR, 'grafana', 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8')) as { datasources: Array<{ uid: string }> };
    const uids = new Set(ds.datasources.map((d) => d.uid));
    for (const { dashboard } of dashboards()) for (const p of dashboard.panels) expect(uids.has((p as unknown as { datasource: { uid: string } }).datasource.uid)).toBe(true);
  });
});

describe('compose layers', () => {
  type Service = { image?: string; build?: unknown; environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, unknown> };
  const load = (f: string) => parseYaml(readFileSync(join(ROOT, 'deploy', f), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };

  it('compose.observability.yaml adds to compose.yaml (its services exist there or bring a pinned image, mounted files and named volumes exist, each service gets its metrics port, Prometheus scrapes there); Compose itself (`config --quiet`: the Docker CLI plugin, else Debian docker-compose) accepts both', async () => {
    const core = load('compose.yaml');
    const obs = load('compose.observability.yaml');
    const volumes = new Set([...Object.keys(core.volumes ?? {}), ...Object.keys(obs.volumes ?? {})]);
    for (const [name, svc] of Object.entries(obs.services)) {
      const base = core.services[name];
      expect([name, Boolean(base || svc.image)]).toEqual([name, true]); // an override of a core service, or a new one with its image
      if (svc.image) expect([name, svc.image]).toEqual([name, expect.stringMatching(/:v?[0-9][\w.-]*$/)]); // pinned, never :latest
      for (const v of svc.volumes ?? []) {
        const [src] = v.split(':');
        if (src!.startsWith('./')) expect([name, src, existsSync(join(ROOT, 'deploy', src!))]).toEqual([name, src, true]);
        else expect([name, src, volumes.has(src!)]).toEqual([name, src, true]);
      }
      for (const dep of Object.keys(svc.depends_on ?? {})) expect([name, dep, Boolean(core.services[dep] || obs.services[dep])]).toEqual([name, dep, true]);
    }
    expect(obs.services['haier-gateway']!.environment).toMatchObject({ GATEWAY_METRICS_PORT: '9464', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318' });
    expect(obs.services.catalog!.environment).toMatchObject({ CATALOG_METRICS_PORT: '9464' });
    expect(obs.services['sync-orchestrator']!.environment).toMatchObject({ SYNC_METRICS_PORT: '9464' });
    expect(obs.services['http-edge']!.environment).toMatchObject({ EDGE_METRICS_PORT: '9464' });
    // Prometheus scrapes each service where compose opens its metrics
    const prom = parseYaml(readFileSync(join(OBSERVABILITY_DIR, 'prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
    const targets = Object.fromEntries(prom.scrape_configs.map((s) => [s.job_name, s.static_configs[0]!.targets[0]]));
    expect(targets).toEqual({ 'haier-gateway': 'haier-gateway:9464', catalog: 'catalog:9464', 'sync-orchestrator': 'sync-orchestrator:9464', 'http-edge': 'http-edge:9464' });

    // Compose's own merge of both layers: the Docker CLI's compose plugin when it has one, else
    // Debian's docker-compose 1.29 (scripts/ensure-services.sh installs it; the files keep to what
    // both read: no top-level `name:`, the project is `-p haier-sync`)
    const plugin = await tool('docker', ['compose', 'version']).catch(() => ({ code: 1, out: '' }));
    const [cmd, ...pre] = plugin.code === 0 ? ['docker', 'compose'] : [COMPOSE];
    const r = await tool(cmd!, [...pre, '-p', 'haier-sync', '-f', 'deploy/compose.yaml', '-f', 'deploy/compose.observability.yaml', 'config', '--quiet']);
    expect(r).toEqual({ code: 0, out: '' });
  });

  it('compose.yaml gives the gateway, the orchestrator and the edge one image store: the same IMAGE_STORE* settings, the `images` volume at IMAGE_STORE_DIR (read-only for the edge), S3 keys only from the environment', () => {
    const core = load('compose.yaml');
    expect(Object.keys(core.volumes ?? {})).toContain('images');
    const users = ['haier-gateway', 'sync-orchestrator', 'http-edge'];
    const settings = users.map((name) => Object.fromEntries(Object.entries(core.services[name]!.environment ?? {}).filter(([k]) => k.startsWith('IMAGE_'))));
    for (const s of settings) expect(s).toEqual(settings[0]);
    expect(settings[0]).toMatchObject({ IMAGE_STORE: '${IMAGE_STORE:-filesystem}', IMAGE_STORE_DIR: '/data/images' });
    // a secret is only ever an interpolation of the shell's environment, never a value in the file
    expect(settings[0]!['IMAGE_S3_SECRET_ACCESS_KEY']).toBe('${IMAGE_S3_SECRET_ACCESS_KEY:-}');
    expect(settings[0]!['IMAGE_S3_ACCESS_KEY_ID']).toBe('${IMAGE_S3_ACCESS_KEY_ID:-}');
    const dir = settings[0]!['IMAGE_STORE_DIR'];
    for (const name of users) {
      const mount = (core.services[name]!.volumes ?? []).find((v) => v.startsWith('images:'));
      expect([name, mount]).toEqual([name, name === 'http-edge' ? `images:${dir}:ro` : `images:${dir}`]);
      // the service-auth mount the shared anchor gave is still there (a service's volumes replace the anchor's)
      expect([name, core.services[name]!.volumes]).toEqual([name, expect.arrayContaining(['service-auth:/service-auth:ro'])]);
    }
    // the catalog never touches the store; the one-shot key step hands the volume to the services' user
    expect(Object.keys(core.services.catalog!.environment ?? {}).filter((k) => k.startsWith('IMAGE_'))).toEqual([]);
    expect(core.services['service-keys']!.volumes).toContain(`images:${dir}`);
  });
});

describe('k8s kustomization', () => {
  it('kubectl kustomize deploy/k8s builds: scrape annotations and metrics ports, a PodDisruptionBudget per Deployment, an HPA for the edge, pinned images, the migrate initContainers, the image store (a shared ConfigMap, keys from a Secret)', async () => {
    const r = await tool('kubectl', ['kustomize', 'deploy/k8s']);
    expect(r.code).toBe(0);
    type Doc = { kind: string; metadata: { name: string }; spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const docs = parseAllDocuments(r.out).map((d) => d.toJSON() as Doc);
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['catalog', 'haier-gateway', 'http-edge', 'sync-orchestrator']);
    const metricsVar: Record<string, string> = { 'haier-gateway': 'GATEWAY_METRICS_PORT', catalog: 'CATALOG_METRICS_PORT', 'sync-orchestrator': 'SYNC_METRICS_PORT', 'http-edge': 'EDGE_METRICS_PORT' };
    for (const d of deployments) {
      const name = d.metadata.name;
      const pod = d.spec.template;
      const port = pod.metadata.annotations?.['prometheus.io/port'];
      expect([name, pod.metadata.annotations?.['prometheus.io/scrape']]).toEqual([name, 'true']);
      const server = pod.spec.containers[0];
      const declared = (server.ports as Array<{ containerPort: number }>).map((p) => String(p.containerPort));
      expect([name, declared.includes(port)]).toEqual([name, true]);
      if (metricsVar[name]) expect([name, (server.env as Array<{ name: string; value: string }>).find((e) => e.name === metricsVar[name])?.value]).toEqual([name, port]);
      for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) expect([name, c.image]).toEqual([name, expect.stringMatching(/^haier-sync\/[a-z-]+:\d+\.\d+\.\d+$/)]);
      if (name !== 'haier-gateway') expect([name, (pod.spec.initContainers ?? []).map((c: { name: string }) => c.name)]).toEqual([name, ['migrate']]);
      const pdb = docs.find((x) => x.kind === 'PodDisruptionBudget' && x.spec.selector?.matchLabels?.app === name);
      expect([name, pdb?.spec.minAvailable]).toEqual([name, 1]);
    }
    // the image store: the gateway, the orchestrator and the edge read the same ConfigMap (S3: their
    // replicas share the bucket) and take the keys from a Secret; no key is a literal anywhere
    const imageConfig = docs.find((x) => x.kind === 'ConfigMap' && x.metadata.name.startsWith('haier-sync-images')) as unknown as { metadata: { name: string }; data: Record<string, string> };
    expect(imageConfig.data).toMatchObject({ IMAGE_STORE: 's3', IMAGE_S3_BUCKET: expect.any(String) });
    for (const d of docs.filter((x) => x.kind === 'ConfigMap')) {
      const data = (d as unknown as { data?: Record<string, string> }).data ?? {};
      expect([d.metadata.name, Object.keys(data).filter((k) => /IMAGE_S3_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)/.test(k))]).toEqual([d.metadata.name, []]);
    }
    for (const d of deployments) {
      const server = d.spec.template.spec.containers[0] as { envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string; optional?: boolean } }>; env?: Array<{ name: string }> };
      const usesStore = ['haier-gateway', 'sync-orchestrator', 'http-edge'].includes(d.metadata.name);
      expect([d.metadata.name, (server.envFrom ?? []).some((e) => e.configMapRef?.name === imageConfig.metadata.name)]).toEqual([d.metadata.name, usesStore]);
      expect([d.metadata.name, (server.envFrom ?? []).some((e) => e.secretRef?.name === 'haier-sync-images-s3')]).toEqual([d.metadata.name, usesStore]);
      expect([d.metadata.name, (server.env ?? []).filter((e) => e.name.startsWith('IMAGE_S3_'))]).toEqual([d.metadata.name, []]);
    }
    // the edge and the orchestrator may reach the S3 API (https); their egress is otherwise narrow
    for (const name of ['http-edge-egress', 'sync-orchestrator-egress']) {
      const np = docs.find((x) => x.kind === 'NetworkPolicy' && x.metadata.name === name)!;
      expect([name, (np.spec.egress as Array<{ ports?: Array<{ port: number }> }>).some((e) => e.ports?.some((p) => p.port === 443))]).toEqual([name, true]);
    }

    const hpa = docs.find((x) => x.kind === 'HorizontalPodAutoscaler');
    expect(hpa?.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'http-edge' });
    expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
  });
});
