#!/usr/bin/env node
// Runs the whole product locally (README quick start, command 1): the Haier simulator as the
// default upstream (unless HAIER_BASE_URL points elsewhere), then every service, each with its
// log lines prefixed. Ctrl-C stops everything cleanly (SIGTERM to each, in reverse order).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
const useSim = !process.env.HAIER_BASE_URL;
const simPort = Number(env.SIM_PORT ?? 9090);
env.HAIER_BASE_URL ??= `http://127.0.0.1:${simPort}`;
env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/haier_sync';
env.NATS_URL ??= 'nats://127.0.0.1:4222';
env.LOG_LEVEL ??= 'info';

const colors = [36, 33, 35, 32, 34, 31];
const children = [];
let stopping = false;

function prefixLines(name, color, stream, out) {
  let buf = '';
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
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

try {
  await ensureDatabase(env.DATABASE_URL);
  if (useSim) {
    start('haier-sim', 'tools/haier-sim', ['dist/main.js'], { SIM_PORT: String(simPort) });
    await waitPort(simPort, 'haier-sim');
  }
  const ports = { gateway: Number(env.GATEWAY_PORT ?? 50051), catalog: Number(env.CATALOG_PORT ?? 50052) };
  service('haier-gateway', 'services/haier-gateway');
  service('catalog', 'services/catalog');
  await Promise.all([waitPort(ports.gateway, 'haier-gateway'), waitPort(ports.catalog, 'catalog')]);
  console.log(`
haier-sync is running${useSim ? ' against the Haier SIMULATOR (a development stand-in, not Haier)' : ` against ${env.HAIER_BASE_URL}`}.
  haier-gateway  grpc://127.0.0.1:${ports.gateway}   (haiersync.gateway.v1.HaierGatewayService)
  catalog        grpc://127.0.0.1:${ports.catalog}   (haiersync.catalog.v1.CatalogService)
${useSim ? `  haier-sim      http://127.0.0.1:${simPort}/__sim/stats\n` : ''}
Try:  pnpm exec buf curl --schema proto --protocol grpc --http2-prior-knowledge \\
        -d '{"productCodes":[]}' http://127.0.0.1:${ports.gateway}/haiersync.gateway.v1.HaierGatewayService/GetUsage
Ctrl-C stops everything.`);
} catch (err) {
  console.error(String(err.message ?? err));
  shutdown(1);
}
