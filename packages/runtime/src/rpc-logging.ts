// One log line per RPC: debug on success (method, code, duration), warn on failure with
// the gRPC code and the (redacted) message. Placed after the tracing interceptor so the
// line carries the RPC's trace id.
import type { Interceptor } from '@connectrpc/connect';
import type { Logger } from './logger';
import { observeOutcome } from './rpc-outcome';
import { rpcName } from './rpc-tracing';

export function loggingInterceptor(logger: Logger, kind: 'server' | 'client' = 'server'): Interceptor {
  return observeOutcome((req) => {
    const method = rpcName(req);
    const started = process.hrtime.bigint();
    const ms = () => Number((process.hrtime.bigint() - started) / 1000n) / 1000;
    return (code, error) => {
      if (error) logger.warn({ rpc: method, kind, code, duration_ms: ms() }, `${method} failed: ${code}: ${error.rawMessage}`);
      else if (code === 'OK') logger.debug({ rpc: method, kind, code, duration_ms: ms() }, `${method} OK`);
      else logger.debug({ rpc: method, kind, code, duration_ms: ms() }, `${method} cancelled`);
    };
  });
}
