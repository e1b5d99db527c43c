// Clients for our gRPC services: one HTTP/2 connection per base URL, shared by every
// client of that URL, with a default deadline, the client tracing interceptor and, given the
// process's service credentials, a signed service token on every call (see service-auth.ts).
import { Code, ConnectError, createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { Http2SessionManager, createGrpcTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';
import { readFileOf } from './config';
import { connectionCode, mapErrors } from './errors';
import { signingInterceptor, type ServiceCredentials } from './service-auth';
import { tracingInterceptor } from './rpc-tracing';

export interface GrpcClientOptions {
  /** e.g. http://catalog:50052 (cleartext HTTP/2), https://catalog:50052 (TLS). */
  baseUrl: string;
  /** Sign every call as this caller (the process's key; see loadServiceCredentials). */
  credentials?: ServiceCredentials;
  /**
   * For https:// URLs: the CA certificate(s) (PEM) to trust instead of the system's. The
   * connection of a URL is shared: the first client created for it sets this.
   */
  tls?: GrpcClientTls;
  /** Default deadline of each unary call in ms (default 30 s); a call may pass its own `timeoutMs`. Streams have none by default. */
  timeoutMs?: number;
  /** Added after the tracing interceptor. */
  interceptors?: Interceptor[];
}

export interface GrpcClientTls {
  ca?: string | Buffer;
}

/** The CA to trust for calls to a service, from `<prefix>_TLS_CA_FILE` (undefined when unset: the system's CAs). Throws ConfigError. */
export function grpcClientTlsFromEnv(prefix: string, env: NodeJS.ProcessEnv = process.env): GrpcClientTls | undefined {
  const name = `${prefix}_TLS_CA_FILE`;
  const file = env[name]?.trim();
  if (!file) return undefined;
  return { ca: readFileOf(name, file, "the PEM certificate of the CA that signed the service's certificate") };
}

const sessions = new Map<string, Http2SessionManager>();
const tlsOf = new Map<string, GrpcClientTls>();

function sessionFor(baseUrl: string, tls?: GrpcClientTls): Http2SessionManager {
  const key = new URL(baseUrl).origin;
  if (tls) tlsOf.set(key, tls);
  let sm = sessions.get(key);
  if (!sm || sm.state() === 'closed') {
    const t = tlsOf.get(key);
    sm = new Http2SessionManager(baseUrl, { pingIdleConnection: true, pingIntervalMs: 30_000, idleConnectionTimeoutMs: 60_000 }, t?.ca ? { ca: t.ca } : undefined);
    sessions.set(key, sm);
  }
  return sm;
}

/** Failing to reach the server is UNAVAILABLE (retryable), whatever the transport called it. */
function asUnavailable(e: unknown, origin: string): unknown {
  const ce = ConnectError.from(e);
  if (ce.code === Code.Unavailable || ce.code === Code.DeadlineExceeded || ce.code === Code.Canceled) return e;
  const code = connectionCode(e);
  if (!code) return e;
  return new ConnectError(`cannot reach ${origin} (${code}); check that the service is running and its address is configured right`, Code.Unavailable, undefined, undefined, e);
}

/** Maps connection failures (refused, reset, unresolvable) to UNAVAILABLE with an operator's message. */
function connectionErrorInterceptor(baseUrl: string): Interceptor {
  const origin = new URL(baseUrl).origin;
  return mapErrors((e) => asUnavailable(e, origin));
}

export function createGrpcClient<T extends DescService>(service: T, opts: GrpcClientOptions): Client<T> {
  const common = {
    baseUrl: opts.baseUrl,
    sessionManager: sessionFor(opts.baseUrl, opts.tls),
    interceptors: [
      tracingInterceptor('client'),
      connectionErrorInterceptor(opts.baseUrl),
      ...(opts.credentials ? [signingInterceptor(opts.credentials)] : []),
      ...(opts.interceptors ?? []),
    ],
    // Service-to-service calls stay on loopback or the cluster network: compressing them costs
    // more CPU than the bytes it saves (measured on the catalog upsert path).
    acceptCompression: [],
  };
  // The default deadline applies to unary calls only: a stream (WatchRun, StreamAllProducts)
  // lives as long as its work; pass `timeoutMs` or a `signal` on the call to bound one.
  const unary = createClient(service, createGrpcTransport({ ...common, defaultTimeoutMs: opts.timeoutMs ?? 30_000 }));
  const streaming = createClient(service, createGrpcTransport(common));
  const client: Record<string, unknown> = {};
  for (const m of service.methods) {
    const source = (m.methodKind === 'unary' ? unary : streaming) as Record<string, unknown>;
    client[m.localName] = source[m.localName];
  }
  return client as Client<T>;
}

/** Closes every shared client connection (at shutdown, and at the end of a test file). */
export function closeGrpcClients(): void {
  for (const sm of sessions.values()) sm.abort();
  sessions.clear();
  tlsOf.clear();
}
