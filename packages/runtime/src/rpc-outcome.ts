// How an RPC ended, for the interceptors that watch every call (logging, metrics): the gRPC
// code name, reported once when a unary call answers or a stream ends, fails or is abandoned.
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';

/** `Code.NotFound` → "NOT_FOUND", as gRPC writes it. */
export function codeName(code: number): string {
  const n = Code[code];
  return n ? n.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() : String(code);
}

/** What `observeOutcome` reports: "OK", "CANCELLED" for an abandoned stream, or the error's code. */
export type OutcomeReport = (code: string, error?: ConnectError) => void;

/** An interceptor that calls `start(req)` per RPC and the report it returns once, when the RPC ends. */
export function observeOutcome(start: (req: Parameters<Parameters<Interceptor>[0]>[0]) => OutcomeReport): Interceptor {
  return (next) => async (req) => {
    const report = start(req);
    const failed = (e: unknown) => {
      const ce = ConnectError.from(e);
      report(codeName(ce.code), ce);
    };
    let res;
    try {
      res = await next(req);
    } catch (e) {
      failed(e);
      throw e;
    }
    if (!res.stream) {
      report('OK');
      return res;
    }
    const src = res.message;
    async function* observed() {
      let ended = false;
      try {
        for await (const m of src) yield m;
        ended = true;
        report('OK');
      } catch (e) {
        ended = true;
        failed(e);
        throw e;
      } finally {
        if (!ended) report('CANCELLED');
      }
    }
    return { ...res, message: observed() };
  };
}
