// Test helpers shared by every package's Jest suites. Each test run gets its own
// Postgres database and its own NATS stream names, and removes them afterwards, so
// runs can share the machine's servers with each other and with CI.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Client } from 'pg';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** The machine's Postgres (trust auth). Override with TEST_DATABASE_URL. */
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The machine's NATS. Override with TEST_NATS_URL. */
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A short random id, safe inside database, stream and subject names. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates an empty database for one test file; `drop()` removes it (terminating stray connections). */
export async function createTestDatabase(prefix = 'hs_test'): Promise<TestDatabase> {
  const name = uniqueId(prefix).toLowerCase();
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(ADMIN_DATABASE_URL, name),
    async drop() {
      const c = new Client({ connectionString: ADMIN_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A TCP port that was free a moment ago (for servers that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `check` until it returns a truthy value or the timeout passes. */
export async function waitFor<T>(check: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---------------------------------------------------------------------------------------
// In-process tracing for tests: spans land in memory, context flows through async code
// (AsyncLocalStorage) and W3C trace context crosses RPCs and messages.

export interface TestTracing {
  exporter: InMemorySpanExporter;
  /** Every span ended so far. */
  spans(): ReadableSpan[];
  reset(): void;
  /** Unregisters the provider, context manager and propagator. */
  stop(): Promise<void>;
}

export function startTestTracing(): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!trace.setGlobalTracerProvider(provider) || !context.setGlobalContextManager(contextManager) || !propagation.setGlobalPropagator(new W3CTraceContextPropagator())) {
    throw new Error('startTestTracing: a tracer provider is already registered in this test file; call stop() on the previous one first');
  }
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    async stop() {
      await provider.shutdown();
      contextManager.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Collects what a logger writes, one parsed JSON object per line. */
export function captureLogs(): { stream: { write(line: string): void }; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: { write: (line: string) => void chunks.push(line) },
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/**
 * How a benchmark starts a built service as deployed (deploy/Dockerfile, scripts/start.mjs):
 * `node [extra flags] --require @haier-sync/runtime/telemetry dist/main.js` in the service's
 * directory (tools: without the telemetry preload). `dir` is relative to the repository root.
 */
export function deployedService(root: string, dir: string, nodeFlags: readonly string[] = []): { args: string[]; cwd: string } {
  const cwd = join(root, dir);
  if (!existsSync(join(cwd, 'dist', 'main.js'))) throw new Error(`${dir}/dist/main.js is missing: build first (pnpm build; pnpm bench does)`);
  const preload = dir.startsWith('services/') ? ['--require', '@haier-sync/runtime/telemetry'] : [];
  return { args: [...nodeFlags, ...preload, 'dist/main.js'], cwd };
}
