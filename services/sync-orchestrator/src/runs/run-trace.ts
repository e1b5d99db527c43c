// One trace per run (issue 14): the run row keeps the trace context of the call that started it
// (runs.traceparent), and each piece of the run's work, wherever it runs (this process, another
// replica, after a restart), is a span in that trace: `run plan` and `run finalize` (the leased
// phases) and `run batch` (a worker's batch); their gateway and catalog calls are its children.
// One span per phase or batch (20 products), never per product.
import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { contextOfTraceparent, redact } from '@haier-sync/runtime';
import type { RunRow } from './model';

const tracer = trace.getTracer('@haier-sync/sync-orchestrator');

export type RunSpanName = 'run plan' | 'run finalize' | 'run batch';

/** Marks the active span failed with `err` (the work went on: the error was handled). */
export function recordRunError(err: unknown, span: Span | undefined = trace.getActiveSpan()): void {
  if (!span) return;
  const message = redact(err instanceof Error ? err.message : String(err));
  span.recordException({ name: err instanceof Error ? err.name : 'Error', message, stack: err instanceof Error && err.stack ? redact(err.stack) : undefined });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Runs `fn` in a span of the run's trace (a child of the span its row names; a new trace when it
 * names none). A thrown error is recorded on the span and rethrown.
 */
export function inRunSpan<T>(name: RunSpanName, run: Pick<RunRow, 'id' | 'traceparent'>, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes: { 'haier_sync.run_id': run.id, ...attributes } }, contextOfTraceparent(run.traceparent), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      recordRunError(err, span);
      throw err;
    } finally {
      span.end();
    }
  });
}
