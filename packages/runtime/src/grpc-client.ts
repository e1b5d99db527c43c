// Clients for our gRPC services: one HTTP/2 connection per base URL, shared by every
// client of that URL, with a default deadline and the client tracing interceptor.
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { Http2SessionManager, createGrpcTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';
import { tracingInterceptor } from './rpc-tracing';

export interface GrpcClientOptions {
  /** e.g. http://catalog:50052 (cleartext HTTP/2). */
  baseUrl: string;
  /** Default deadline for each call in ms (default 30 s); a call may pass its own `timeoutMs`. */
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

export function createGrpcClient<T extends DescService>(service: T, opts: GrpcClientOptions): Client<T> {
  const transport = createGrpcTransport({
    baseUrl: opts.baseUrl,
    sessionManager: sessionFor(opts.baseUrl),
    defaultTimeoutMs: opts.timeoutMs ?? 30_000,
    interceptors: [tracingInterceptor('client'), ...(opts.interceptors ?? [])],
  });
  return createClient(service, transport);
}

/** Closes every shared client connection (at shutdown, and at the end of a test file). */
export function closeGrpcClients(): void {
  for (const sm of sessions.values()) sm.abort();
  sessions.clear();
}
