// For this package's tests: a private nats-server for tests that stop NATS. (Other services run
// as processes through @haier-sync/runtime/testing: startCatalogProcess, startGatewayProcess.)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { freePort, waitFor } from '@haier-sync/runtime/testing';

export interface NatsServerProcess {
  url: string;
  port: number;
  /** Stops the server (SIGTERM), keeping its store directory. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same store. */
  start(): Promise<void>;
  /** Stops it and removes its store. */
  destroy(): Promise<void>;
}

/** A private nats-server with JetStream on a free port and its own store (never the machine's). */
export async function startNatsServer(): Promise<NatsServerProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hs-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';
  const start = async (): Promise<void> => {
    child = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
    child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
    await waitFor(
      async () => {
        if (child?.exitCode !== null) throw new Error(`nats-server exited: ${log}`);
        const nc = await connect({ servers: url, reconnect: false, timeout: 1_000 });
        try {
          await (await nc.jetstreamManager()).getAccountInfo();
        } finally {
          await nc.close();
        }
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: `nats-server on ${url}` },
    );
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  await start();
  return {
    url,
    port,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
