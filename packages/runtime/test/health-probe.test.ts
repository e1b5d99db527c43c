// The container health check: `node health-probe.js <port>` exits 0 only when the server
// answers grpc.health.v1 Check with SERVING.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { gateway } from '@haier-sync/contracts';
import { createLogger, startGrpcServer, type GrpcServer } from '../src/index';
import { probe } from '../src/health-probe';
import { freePort } from '../src/testing';

const PKG = join(__dirname, '..');

function runProbe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=source', '--import', 'tsx', join(PKG, 'src/health-probe.ts'), ...args], { cwd: PKG, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('health probe', () => {
  let server: GrpcServer;
  let ready = true;
  beforeAll(async () => {
    server = await startGrpcServer({
      service: 'probe-test',
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('probe-test', { level: 'silent' }),
      readiness: () => ready,
      routes: (router) => router.service(gateway.HaierGatewayService, {}),
    });
  });
  afterAll(() => server.close(500));

  it('probe() reports SERVING, NOT_SERVING and an unreachable port', async () => {
    ready = true;
    expect(await probe(server.port)).toEqual({ ok: true, status: 'SERVING' });
    expect(await probe(server.port, { service: 'haiersync.gateway.v1.HaierGatewayService' })).toEqual({ ok: true, status: 'SERVING' });
    ready = false;
    expect(await probe(server.port)).toEqual({ ok: false, status: 'NOT_SERVING' });
    const closed = await freePort();
    const r = await probe(closed, { timeoutMs: 2000 });
    expect(r.ok).toBe(false);
    expect(r.status).toMatch(new RegExp(`^no answer from 127\\.0\\.0\\.1:${closed}: `));
  });

  it('the CLI exits 0 on SERVING, 1 on NOT_SERVING, 2 on bad arguments', async () => {
    ready = true;
    const up = await runProbe([String(server.port)]);
    expect(up).toMatchObject({ code: 0, stdout: 'SERVING\n' });
    ready = false;
    const down = await runProbe([String(server.port)]);
    expect(down).toMatchObject({ code: 1, stderr: 'NOT_SERVING\n' });
    const bad = await runProbe(['not-a-port']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/usage: node health-probe\.js <port>/);
  });
});
