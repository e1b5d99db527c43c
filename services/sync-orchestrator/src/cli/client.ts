// The CLI's connection to the sync-orchestrator (SYNC_URL) and, for --verbose, the catalog
// (CATALOG_URL); and how an RPC failure becomes an operator's message and an exit status.
import { Code, ConnectError } from '@connectrpc/connect';
import { catalog, sync } from '@haier-sync/contracts';
import { CALLERS, createGrpcClient, grpcClientTlsFromEnv, loadServiceCredentials } from '@haier-sync/runtime';
import type { Client } from '@connectrpc/connect';
import { EXIT } from './exit-codes';
import { UsageError } from './options';

export const DEFAULT_SYNC_URL = 'http://127.0.0.1:50053';
export const DEFAULT_CATALOG_URL = 'http://127.0.0.1:50052';

export type SyncClient = Client<typeof sync.SyncService>;
export type CatalogClient = Client<typeof catalog.CatalogService>;

/** The base URL from an environment variable, checked (a bad one is a usage error). */
export function serviceUrl(name: 'SYNC_URL' | 'CATALOG_URL', env: NodeJS.ProcessEnv = process.env): string {
  const raw = (env[name] ?? '').trim() || (name === 'SYNC_URL' ? DEFAULT_SYNC_URL : DEFAULT_CATALOG_URL);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`${name}="${raw}" is not a URL; set it like ${name === 'SYNC_URL' ? DEFAULT_SYNC_URL : DEFAULT_CATALOG_URL}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`${name}="${raw}" must start with http:// or https://`);
  return raw.replace(/\/+$/, '');
}

/** The CLI signs its calls as "cli" with the key in SERVICE_AUTH_PRIVATE_KEY_FILE (a missing one is a usage error saying so). */
function cliCredentials(env: NodeJS.ProcessEnv): ReturnType<typeof loadServiceCredentials> {
  try {
    return loadServiceCredentials(CALLERS.cli, env);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^Invalid configuration: /, ''));
  }
}

export function syncClient(baseUrl: string, env: NodeJS.ProcessEnv = process.env): SyncClient {
  return createGrpcClient(sync.SyncService, { baseUrl, timeoutMs: 30_000, credentials: cliCredentials(env), tls: grpcClientTlsFromEnv('SYNC', env) });
}

export function catalogClient(baseUrl: string, env: NodeJS.ProcessEnv = process.env): CatalogClient {
  return createGrpcClient(catalog.CatalogService, { baseUrl, timeoutMs: 15_000, credentials: cliCredentials(env), tls: grpcClientTlsFromEnv('CATALOG', env) });
}

/** A failure the CLI explains and exits with. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** What to say when the orchestrator is down: which URL, and what to start. */
export function unreachableMessage(url: string, detail: string): string {
  return [
    `haier-sync: cannot reach the sync-orchestrator at ${url} (${detail}).`,
    '  Start the stack with `pnpm start` (gateway, catalog, orchestrator), or the orchestrator alone with',
    '  `node --conditions=source --import tsx services/sync-orchestrator/src/main.ts`,',
    '  or point SYNC_URL at where it runs (e.g. SYNC_URL=http://sync-orchestrator:50053).',
  ].join('\n');
}

/** Maps any error of an RPC to the CLI's message and exit status. */
export function explainRpcError(e: unknown, url: string): CliFailure {
  if (e instanceof CliFailure) return e;
  if (e instanceof UsageError) return new CliFailure(`haier-sync: ${e.message}`, EXIT.USAGE);
  const ce = ConnectError.from(e);
  const msg = ce.rawMessage;
  switch (ce.code) {
    case Code.Unavailable: {
      const m = /\(([A-Z_0-9]+)\)/.exec(msg);
      return new CliFailure(unreachableMessage(url, m?.[1] ?? msg), EXIT.UNAVAILABLE);
    }
    case Code.DeadlineExceeded:
      return new CliFailure(`haier-sync: the sync-orchestrator at ${url} did not answer in time (${msg}); it may be overloaded or stuck, check its logs`, EXIT.UNAVAILABLE);
    case Code.InvalidArgument:
      return new CliFailure(`haier-sync: the service refused the request: ${msg}`, EXIT.USAGE);
    case Code.NotFound:
    case Code.FailedPrecondition:
    case Code.AlreadyExists:
    case Code.PermissionDenied:
    case Code.Unauthenticated:
    case Code.ResourceExhausted:
      return new CliFailure(`haier-sync: ${msg}`, EXIT.FAILED);
    case Code.Unimplemented:
      return new CliFailure(`haier-sync: the service at ${url} does not implement this call (${msg}); is SYNC_URL pointing at the sync-orchestrator, and is it up to date?`, EXIT.SOFTWARE);
    default:
      return new CliFailure(`haier-sync: unexpected error from ${url}: [${Code[ce.code] ?? ce.code}] ${msg}`, EXIT.SOFTWARE);
  }
}
