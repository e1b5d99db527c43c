// One log line per RPC: debug on success (method, code, duration), warn on failure with
// the gRPC code and the (redacted) message. Placed after the tracing interceptor so the
// line carries the RPC's trace id.
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import type { Logger } from './logger';
import { rpcName } from './rpc-tracing';

function codeName(code: number): string {
  const n = Code[code];
  return n ? n.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() : String(code);
}

export function loggingInterceptor(logger: Logger, kind: 'server' | 'client' = 'server'): Interceptor {
  return (next) => async (req) => {
    const method = rpcName(req);
    const started = process.hrtime.bigint();
    const ms = () => Number((process.hrtime.bigint() - started) / 1000n) / 1000;
    const ok = () => logger.debug({ rpc: method, kind, code: 'OK', duration_ms: ms() }, `${method} OK`);
    const failed = (e: unknown) => {
      const ce = ConnectError.from(e);
      logger.warn({ rpc: method, kind, code: codeName(ce.code), duration_ms: ms() }, `${method} failed: ${codeName(ce.code)}: ${ce.rawMessage}`);
    };
    let res;
    try {
      res = await next(req);
    } catch (e) {
      failed(e);
      throw e;
    }
    if (!res.stream) {
      ok();
      return res;
    }
    const src = res.message;
    async function* logged() {
      let done = false;
      try {
        for await (const m of src) yield m;
        done = true;
        ok();
      } catch (e) {
        done = true;
        failed(e);
        throw e;
      } finally {
        if (!done) logger.debug({ rpc: method, kind, code: 'CANCELLED', duration_ms: ms() }, `${method} cancelled`);
      }
    }
    return { ...res, message: logged() };
  };
}
