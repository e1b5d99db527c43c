// A container health check for our gRPC services:
//   node node_modules/@haier-sync/runtime/dist/health-probe.js <port> [service] [timeout-ms]
// calls grpc.health.v1.Health/Check on 127.0.0.1:<port> and exits 0 when the answer is
// SERVING, 1 otherwise (NOT_SERVING, unreachable, timed out), 2 on bad arguments. One line on
// stdout (or stderr for failures) says what it saw. HEALTH_PROBE_HOST overrides 127.0.0.1;
// HEALTH_PROBE_CA_FILE makes it probe a TLS server (https) trusting that CA certificate.
import { createClient } from '@connectrpc/connect';
import { readFileSync } from 'node:fs';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { ConnectError } from '@connectrpc/connect';
import { health } from '@haier-sync/contracts';

const { HealthCheckResponse_ServingStatus: Status } = health;

export interface ProbeResult {
  ok: boolean;
  /** SERVING, NOT_SERVING, …, or the failure ("unreachable: …"). */
  status: string;
}

/** One Check against host:port; never throws. */
export async function probe(port: number, opts: { host?: string; service?: string; timeoutMs?: number; ca?: string | Buffer } = {}): Promise<ProbeResult> {
  const host = opts.host ?? '127.0.0.1';
  const transport = createGrpcTransport({ baseUrl: `${opts.ca ? 'https' : 'http'}://${host}:${port}`, nodeOptions: opts.ca ? { ca: opts.ca } : undefined });
  const client = createClient(health.Health, transport);
  try {
    const res = await client.check({ service: opts.service ?? '' }, { timeoutMs: opts.timeoutMs ?? 3000 });
    const name = Status[res.status] ?? String(res.status);
    return { ok: res.status === Status.SERVING, status: name };
  } catch (err) {
    const ce = ConnectError.from(err);
    return { ok: false, status: `no answer from ${host}:${port}: ${ce.rawMessage}` };
  }
}

async function cli(argv: string[]): Promise<number> {
  const [portArg, service = '', timeoutArg] = argv;
  const port = Number(portArg);
  const timeoutMs = timeoutArg === undefined ? 3000 : Number(timeoutArg);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || !(timeoutMs > 0)) {
    process.stderr.write('usage: node health-probe.js <port> [service] [timeout-ms]   (exits 0 when the service reports SERVING)\n');
    return 2;
  }
  const caFile = process.env.HEALTH_PROBE_CA_FILE;
  const r = await probe(port, { host: process.env.HEALTH_PROBE_HOST || undefined, service, timeoutMs, ca: caFile ? readFileSync(caFile) : undefined });
  (r.ok ? process.stdout : process.stderr).write(`${r.status}\n`);
  return r.ok ? 0 : 1;
}

if (require.main === module) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`health probe failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
