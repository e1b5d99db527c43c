// Where the CPU goes, from the .cpuprofile files a bench run wrote (BENCH_NODE_FLAGS="--cpu-prof
// --cpu-prof-dir=DIR": one per process). For each profile: the process (told by its own code's
// paths), its total sampled time, and the top self-time functions and modules (a module = a
// package in node_modules, a file of this repo, or node's internals), and the time charged to
// the process's own code: each sample to the nearest frame up its stack that is this repo's code
// (so library and GC-free native time lands on the call site that asked for it). Last, what
// observability costs: the share of busy time charged to metrics (prom-client, a metrics.ts of
// this repo), tracing (@opentelemetry/*, the runtime's tracing files) and logging (pino, the
// runtime's logger); see `charge` below for the rule. GC is not charged to anyone.
//   node --import tsx bench/profile-summary.ts DIR [top=15]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const dir = process.argv[2];
const top = Number(process.argv[3] ?? 15);
if (!dir) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts DIR [top]\n');
  process.exit(2);
}

function moduleOf(url: string): string {
  if (!url) return '(native / idle / gc)';
  if (url.startsWith('node:')) return url;
  const p = url.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = p.slice(nm + 14).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/((?:services|packages|tools)\/[^/]+\/.*)$/.exec(p);
  return m ? m[1]! : p;
}

function processOf(urls: string[]): string {
  const counts = new Map<string, number>();
  for (const u of urls) {
    const m = /\/(services\/[^/]+|tools\/haier-sim)\/(?:dist|src)\//.exec(u) ?? (/\/bench\/floor\.ts/.test(u) ? ['', 'floor'] : null);
    if (m) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '(unknown)';
}

/** The observability concern a frame belongs to, if any. */
const CONCERNS = {
  metrics: (mod: string, url: string) => mod === 'prom-client' || /\/(src|dist)\/metrics\.(ts|js)$/.test(url),
  tracing: (mod: string, url: string) => mod.startsWith('@opentelemetry/') || /\/runtime\/(src|dist)\/(rpc-tracing|trace-context|telemetry(-sdk)?)\.(ts|js)$|\/http-edge\/(src|dist)\/http-tracing\.(ts|js)$/.test(url),
  logging: (mod: string, url: string) => mod === 'pino' || mod === 'pino-std-serializers' || mod === 'sonic-boom' || /\/runtime\/(src|dist)\/(logger|rpc-logging)\.(ts|js)$/.test(url),
} as const;
type Concern = keyof typeof CONCERNS;
const totals = new Map<Concern | 'busy', number>();

const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
for (const f of files) {
  const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const own = (url: string) => /\/(services|packages|tools)\/[^/]+\/(dist|src)\/|\/bench\/floor\.ts/.test(url) && !url.includes('/node_modules/');
  const ownSite = new Map<number, string>();
  const siteOf = (id: number): string => {
    const known = ownSite.get(id);
    if (known !== undefined) return known;
    let cur: number | undefined = id;
    let site = '(no own frame: runtime, libraries on their own)';
    while (cur !== undefined) {
      const c = byId.get(cur)!.callFrame;
      if (own(c.url)) {
        site = `${c.functionName || '(anonymous)'}  ${moduleOf(c.url)}:${c.lineNumber + 1}`;
        break;
      }
      cur = parent.get(cur);
    }
    ownSite.set(id, site);
    return site;
  };
  const bySite = new Map<string, number>();
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    if (name !== '(garbage collector)' && name !== '(program)') {
      const site = siteOf(id);
      bySite.set(site, (bySite.get(site) ?? 0) + us);
    }
    const key = `${name}  ${moduleOf(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const m = ['(garbage collector)', '(program)'].includes(name) ? name : moduleOf(n.callFrame.url);
    mod.set(m, (mod.get(m) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  // time charged to a concern: the leaf-most module frame of the sample (node's internals and
  // natives skipped) is one of its packages, or, when that frame is another library's, the
  // nearest frame of this repo up the stack is one of its files. So a span's own work (ids,
  // attributes, context) counts for tracing, while the pg query an instrumentation wraps, or the
  // handler an interceptor calls, stays with the code that asked for it.
  const chargedTo = new Map<number, Concern | null>();
  const concernOf = (url: string): Concern | null => {
    for (const [k, match] of Object.entries(CONCERNS) as [Concern, (m: string, u: string) => boolean][]) if (match(moduleOf(url), url)) return k;
    return null;
  };
  const charge = (id: number): Concern | null => {
    const known = chargedTo.get(id);
    if (known !== undefined) return known;
    let cur: number | undefined = id;
    let passedLibrary = false;
    let out: Concern | null = null;
    while (cur !== undefined) {
      const url = byId.get(cur)!.callFrame.url;
      if (url && !url.startsWith('node:')) {
        if (!passedLibrary) {
          const c = concernOf(url);
          if (c || own(url)) {
            out = c;
            break;
          }
          passedLibrary = true;
        } else if (own(url)) {
          out = concernOf(url);
          break;
        }
      }
      cur = parent.get(cur);
    }
    chargedTo.set(id, out);
    return out;
  };
  const charged = new Map<Concern, number>();
  for (const [id, us] of self) {
    const name = byId.get(id)!.callFrame.functionName;
    if (name === '(idle)' || name === '(garbage collector)' || name === '(program)') continue;
    const k = charge(id);
    if (k) charged.set(k, (charged.get(k) ?? 0) + us);
  }
  totals.set('busy', (totals.get('busy') ?? 0) + busy);
  for (const [k, v] of charged) totals.set(k, (totals.get(k) ?? 0) + v);
  const lines = [
    `== ${processOf(prof.nodes.map((n) => n.callFrame.url))} (${f}): ${(busy / 1e6).toFixed(1)} s busy of ${(total / 1e6).toFixed(1)} s sampled`,
    '  top modules (self time):',
    ...[...mod].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `    ${pct(v)}  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`),
    '  top functions (self time):',
    ...[...fn].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `    ${pct(v)}  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`),
    "  charged to the process's own code (nearest own frame; GC and (program) left out):",
    ...[...bySite].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `    ${pct(v)}  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`),
    '  observability (time charged to metrics, tracing, logging; of busy time):',
    ...(Object.keys(CONCERNS) as Concern[]).map((k) => `    ${pct(charged.get(k) ?? 0)}  ${((charged.get(k) ?? 0) / 1000).toFixed(0).padStart(6)} ms  ${k}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
const all = totals.get('busy') ?? 0;
if (files.length > 1 && all > 0) {
  process.stdout.write(`== all ${files.length} profiles: ${(all / 1e6).toFixed(1)} s busy\n`);
  for (const k of Object.keys(CONCERNS) as Concern[]) {
    const v = totals.get(k) ?? 0;
    process.stdout.write(`    ${((v / all) * 100).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}\n`);
  }
}
