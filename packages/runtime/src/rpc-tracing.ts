// OpenTelemetry for Connect/gRPC: there is no ready instrumentation for Connect over
// HTTP/2, so this interceptor makes the SERVER and CLIENT spans (rpc.* semantic
// conventions) and carries W3C trace context in the request headers.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryRequest, type StreamRequest } from '@connectrpc/connect';
import { redact } from './secrets';

const TRACER = '@haier-sync/runtime/rpc';

const headerSetter: TextMapSetter<Headers> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

const headerGetter: TextMapGetter<Headers> = {
  keys(carrier) {
    return [...carrier.keys()];
  },
  get(carrier, key) {
    return carrier.get(key) ?? undefined;
  },
};

/** "<package.Service>/<Method>", the span name and the name used in RPC logs. */
export function rpcName(req: { service: { typeName: string }; method: { name: string } }): string {
  return `${req.service.typeName}/${req.method.name}`;
}

// Per the OTel gRPC conventions a server marks only these codes as errors; a client all non-OK.
const SERVER_ERROR_CODES = new Set<number>([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

function finish(span: Span, kind: 'server' | 'client', error?: unknown, cancelled = false): void {
  if (error === undefined) {
    const code = cancelled ? Code.Canceled : 0;
    span.setAttribute('rpc.grpc.status_code', code);
    if (cancelled && kind === 'client') span.setStatus({ code: SpanStatusCode.ERROR, message: 'cancelled by the caller' });
    span.end();
    return;
  }
  const ce = ConnectError.from(error);
  span.setAttribute('rpc.grpc.status_code', ce.code);
  const message = redact(ce.rawMessage);
  const isError = kind === 'client' || SERVER_ERROR_CODES.has(ce.code);
  if (isError) span.setStatus({ code: SpanStatusCode.ERROR, message: `${Code[ce.code]}: ${message}` });
  const original = error instanceof Error ? error : undefined;
  span.recordException({
    name: original?.name ?? 'ConnectError',
    message: `${Code[ce.code]}: ${message}`,
    stack: original?.stack ? redact(original.stack) : undefined,
  });
  span.end();
}

/**
 * Wraps a response stream: each step runs in `ctx` (so handler code and logs see the
 * span) and the span ends when the stream ends, fails, or is abandoned.
 */
async function* traced<T>(src: AsyncIterable<T>, ctx: Context, onEnd: (error?: unknown, cancelled?: boolean) => void): AsyncGenerator<T> {
  const it = src[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const r = await context.with(ctx, () => it.next());
      if (r.done) break;
      yield r.value;
    }
    done = true;
    onEnd();
  } catch (e) {
    done = true;
    onEnd(e);
    throw e;
  } finally {
    if (!done) {
      // the consumer stopped early (cancelled): release the source, then close the span
      try {
        await context.with(ctx, () => it.return?.());
      } finally {
        onEnd(undefined, true);
      }
    }
  }
}

function attributes(req: UnaryRequest | StreamRequest): Record<string, string> {
  return { 'rpc.system': 'grpc', 'rpc.service': req.service.typeName, 'rpc.method': req.method.name };
}

/**
 * SERVER or CLIENT spans named "<package.Service>/<Method>" with rpc.system=grpc,
 * rpc.service, rpc.method and rpc.grpc.status_code. The client injects `traceparent` into
 * the request headers; the server extracts it and runs the handler in that context.
 */
export function tracingInterceptor(kind: 'server' | 'client'): Interceptor {
  return (next) => async (req) => {
    const tracer = trace.getTracer(TRACER);
    const parent = kind === 'server' ? propagation.extract(ROOT_CONTEXT, req.header, headerGetter) : context.active();
    const span = tracer.startSpan(
      rpcName(req),
      { kind: kind === 'server' ? SpanKind.SERVER : SpanKind.CLIENT, attributes: attributes(req) },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    if (kind === 'client') propagation.inject(ctx, req.header, headerSetter);
    let res;
    try {
      res = await context.with(ctx, () => next(req));
    } catch (e) {
      finish(span, kind, e);
      throw e;
    }
    if (!res.stream) {
      finish(span, kind);
      return res;
    }
    const wrapped: StreamResponse = { ...res, message: traced(res.message, ctx, (e, cancelled) => finish(span, kind, e, cancelled)) };
    return wrapped;
  };
}
