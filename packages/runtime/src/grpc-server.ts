// A Connect server speaking gRPC (and gRPC-Web, Connect) over HTTP/2 (cleartext, or TLS when
// given a certificate), with tracing, logging, error-mapping, service-authentication and
// input-validation interceptors, the standard health and reflection services and a graceful close.
import { setMaxListeners } from 'node:events';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { ConfigError, readFileOf } from './config';
import { errorInterceptor, type ErrorMapper } from './errors';
import { authInterceptor, type ServerAuth } from './service-auth';
import { registerHealth } from './health';
import { registerReflection } from './reflection';
import type { Logger } from './logger';
import { loggingInterceptor } from './rpc-logging';
import { tracingInterceptor } from './rpc-tracing';
import { rpcMetricsInterceptor, type Registry } from './metrics';
import { validationInterceptor } from './validation';

export interface GrpcServerOptions {
  /** For logs and health. */
  service: string;
  /** 0 = an ephemeral port. */
  port: number;
  /** Default 0.0.0.0 (tests pass 127.0.0.1); services take it from <SERVICE>_HOST (grpcListenFromEnv). */
  host?: string;
  /** Serve TLS with this certificate and key (PEM); cleartext HTTP/2 without. */
  tls?: GrpcServerTls;
  /**
   * Service authentication: callers' keys and the RPC policy (see service-auth.ts). Every
   * service's main passes it; without it (in-process test harnesses) every caller is answered.
   */
  auth?: ServerAuth;
  routes: (router: ConnectRouter) => void;
  /** Health reports SERVING only when this answers true (checked on each Check; Watch re-checks every second). */
  readiness?: () => Promise<boolean> | boolean;
  logger: Logger;
  /** When given, RED per RPC (rpc_server_requests_total, rpc_server_duration_seconds) goes here. */
  metrics?: Registry;
  /** Added after tracing, logging, error mapping, authentication and validation. */
  interceptors?: Interceptor[];
  /** The service's domain errors as ConnectErrors (see errorInterceptor; anything unmapped is INTERNAL). */
  errors?: ErrorMapper;
  /** The UNAVAILABLE answer when a dependency's connection is refused or lost (see errorInterceptor). */
  connectionLost?: string;
}

export interface GrpcServerTls {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * Where a service listens and whether it serves TLS, from `<prefix>_HOST` (default 0.0.0.0) and
 * `<prefix>_TLS_CERT_FILE` + `<prefix>_TLS_KEY_FILE` (PEM; both or neither). Throws ConfigError.
 */
export function grpcListenFromEnv(prefix: string, env: NodeJS.ProcessEnv = process.env): { host: string; tls?: GrpcServerTls } {
  const host = env[`${prefix}_HOST`]?.trim() || '0.0.0.0';
  const certVar = `${prefix}_TLS_CERT_FILE`;
  const keyVar = `${prefix}_TLS_KEY_FILE`;
  const certFile = env[certVar]?.trim();
  const keyFile = env[keyVar]?.trim();
  if (!certFile && !keyFile) return { host };
  if (!certFile || !keyFile) {
    const missing = certFile ? keyVar : certVar;
    throw new ConfigError(`Invalid configuration: ${missing} is required when ${certFile ? certVar : keyVar} is set (TLS needs both the certificate and its private key, PEM); set both or neither. See README, Configuration.`, [missing]);
  }
  return { host, tls: { cert: readFileOf(certVar, certFile, 'a PEM certificate'), key: readFileOf(keyVar, keyFile, "the certificate's PEM private key") } };
}

export interface GrpcServer {
  readonly port: number;
  /** http://127.0.0.1:PORT (https:// with TLS) */
  readonly url: string;
  /** Stops accepting, lets in-flight calls finish, destroys what remains after graceMs (default 10 s). */
  close(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const { logger } = opts;
  const closing = new AbortController(); // health turns NOT_SERVING, Watch streams end
  const shutdown = new AbortController(); // grace expired: handlers' signals abort
  // Every call in flight links its signal to these (one listener each): no listener limit.
  setMaxListeners(0, closing.signal, shutdown.signal);
  const serviceNames = new Set<string>();

  const handler = connectNodeAdapter({
    routes: (router) => {
      opts.routes(router);
      registerHealth(router, { services: () => serviceNames, readiness: opts.readiness, closing: closing.signal, logger });
      registerReflection(router, () => router.handlers.map((h) => h.service));
      for (const h of router.handlers) serviceNames.add(h.service.typeName);
    },
    interceptors: [
      tracingInterceptor('server'),
      loggingInterceptor(logger, 'server'),
      ...(opts.metrics ? [rpcMetricsInterceptor(opts.metrics, 'server')] : []),
      errorInterceptor({ service: opts.service, logger, map: opts.errors, connectionLost: opts.connectionLost }),
      // before validation: a caller without a token learns nothing about the request rules
      ...(opts.auth ? [authInterceptor(opts.auth)] : []),
      validationInterceptor(),
      ...(opts.interceptors ?? []),
    ],
    shutdownSignal: shutdown.signal,
    // Answers go uncompressed whatever the caller accepts (grpc-js offers gzip by default):
    // inside the cluster gzip costs more CPU than it saves.
    acceptCompression: [],
  });

  const server: http2.Http2Server | http2.Http2SecureServer = opts.tls
    ? http2.createSecureServer({ cert: opts.tls.cert, key: opts.tls.key, allowHTTP1: false }, handler)
    : http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    if (closing.signal.aborted) s.close();
  });
  server.on('sessionError', (err) => logger.debug({ err }, 'HTTP/2 session error'));

  const host = opts.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`${opts.service}: port ${opts.port} on ${host} is already in use; stop the other process or set a different port in the environment`)
          : err,
      );
    };
    server.once('error', onError);
    server.listen(opts.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  logger.info(
    { port, host, tls: Boolean(opts.tls), auth: Boolean(opts.auth), services: [...serviceNames] },
    `${opts.service} gRPC server listening on ${host}:${port}${opts.tls ? ' (TLS)' : ''}${opts.auth ? '' : ' without service authentication'}`,
  );

  let closed: Promise<void> | undefined;
  async function close(graceMs = 10_000): Promise<void> {
    if (closed) return closed;
    closed = (async () => {
      logger.info({ grace_ms: graceMs, sessions: sessions.size }, `${opts.service} gRPC server closing`);
      closing.abort();
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY to every client: in-flight streams finish, new ones go elsewhere
      for (const s of sessions) if (!s.closed) s.close();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
      const result = await Promise.race([serverClosed.then(() => 'closed' as const), graceOver]);
      clearTimeout(timer);
      if (result === 'timeout') {
        logger.warn({ sessions: sessions.size }, `${opts.service}: calls still running after ${graceMs} ms; cancelling them`);
        shutdown.abort(new ConnectError(`${opts.service} is shutting down; retry the call`, Code.Unavailable));
        await new Promise((r) => setTimeout(r, 50));
        for (const s of sessions) s.destroy();
        await serverClosed;
      }
      logger.info(`${opts.service} gRPC server closed`);
    })();
    return closed;
  }

  return { port, url, close };
}
