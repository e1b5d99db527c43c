// OpenTelemetry for the REST side: one SERVER span per request (named by the route template,
// never by the raw URL), the caller's W3C trace context continued, and the span active while
// the route runs, so the gRPC client calls it makes become its children.
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const TRACER = '@haier-sync/http-edge';
const SPAN = Symbol('edge.span');

type WithSpan = FastifyRequest & { [SPAN]?: Span };

const headerGetter = {
  keys: (h: Record<string, unknown>) => Object.keys(h),
  get: (h: Record<string, unknown>, k: string) => {
    const v = h[k];
    return Array.isArray(v) ? (v[0] as string | undefined) : (v as string | undefined);
  },
};

export function registerHttpTracing(app: FastifyInstance, skip: (path: string) => boolean): void {
  const tracer = trace.getTracer(TRACER);
  app.addHook('onRequest', (req, reply, done) => {
    const path = req.url.split('?')[0] ?? req.url;
    if (skip(path)) return done();
    const parent = propagation.extract(context.active(), req.headers, headerGetter);
    const route = req.routeOptions.url ?? 'unmatched';
    const span = tracer.startSpan(
      `${req.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'http.route': route, 'url.path': path.slice(0, 300) } },
      parent,
    );
    (req as WithSpan)[SPAN] = span;
    // the client went away before the answer was complete (no onResponse follows)
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      span.setAttribute('http.response.status_code', 499);
      span.end();
    });
    // what runs from here on (the other hooks, the handler) sees this span as the active one
    context.with(trace.setSpan(parent, span), done);
  });
  app.addHook('onError', async (req, _reply, err) => {
    const span = (req as WithSpan)[SPAN];
    if (span) span.recordException({ name: err.name, message: err.message.slice(0, 500) });
  });
  app.addHook('onResponse', async (req, reply) => {
    const span = (req as WithSpan)[SPAN];
    if (!span) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (req.auth) span.setAttribute('edge.key_name', req.auth.name);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${reply.statusCode}` });
    span.end();
  });
}
