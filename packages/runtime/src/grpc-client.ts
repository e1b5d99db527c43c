// Clients for our gRPC services: one HTTP/2 connection per base URL, shared by every
// client of that URL, with a default deadline and the client tracing interceptor.
import { Code, ConnectError, createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { Http2SessionManager, createGrpcTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';
import { connectionCode, mapErrors } from './errors';
import { tracingInterceptor } from './rpc-tracing';

export interface GrpcClientOptions {
  /** e.g. http://catalog:50052 (cleartext HTTP/2). */
  baseUrl: string;
  /** Default deadline of each unary call in ms (default 30 s); a call may pass its own `timeoutMs`. Streams have none by default. */
  timeoutMs?: number;
  /** Added after the tracing interceptor. */
  interceptors?: Interceptor[];
}

const sessions = new Map<string, Http2SessionManager>();

function sessionFor(baseUrl: string): Http2SessionManager {
  const key = new URL(baseUrl).origin;
  let sm = sessions.get(key);
  if (!sm || sm.state() === 'closed') {
    sm = new Http2SessionManager(baseUrl, { pingIdleConnection: true, pingIntervalMs: 30_000, idleConnectionTimeoutMs: 60_000 });
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
    sessionManager: sessionFor(opts.baseUrl),
    interceptors: [tracingInterceptor('client'), connectionErrorInterceptor(opts.baseUrl), ...(opts.interceptors ?? [])],
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
}
