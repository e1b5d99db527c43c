// Starts the OpenTelemetry NodeSDK: service name from OTEL_SERVICE_NAME, an OTLP/HTTP trace
// exporter only when OTEL_EXPORTER_OTLP_ENDPOINT is set (otherwise spans are still made, so
// trace ids reach the logs, but nothing is exported), W3C trace context, and the pg and
// undici instrumentations. No metrics or logs pipelines: logs go to stdout as JSON.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface TelemetryOptions {
  /** Default: OTEL_SERVICE_NAME, else the name in ./package.json, else "haier-sync". */
  serviceName?: string;
  /** Default: OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://otel-collector:4318). */
  otlpEndpoint?: string;
  /** Extra span processors (tests). */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

let sdk: NodeSDK | undefined;

function packageName(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { name?: string };
    return pkg.name?.replace(/^@[^/]+\//, '');
  } catch {
    return undefined;
  }
}

export function serviceNameFrom(env: NodeJS.ProcessEnv = process.env): string {
  return env.OTEL_SERVICE_NAME || env.npm_package_name?.replace(/^@[^/]+\//, '') || packageName() || 'haier-sync';
}

/** Starts tracing once per process (later calls are no-ops). Returns whether spans are exported. */
export function startTelemetry(opts: TelemetryOptions = {}): { serviceName: string; exporting: boolean } {
  const env = opts.env ?? process.env;
  const serviceName = opts.serviceName ?? serviceNameFrom(env);
  const endpoint = opts.otlpEndpoint ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (sdk) return { serviceName, exporting: Boolean(endpoint) };

  // Loaded here, not at the top: importing the runtime (tests, tools) must not pay for the SDK.
  const { W3CBaggagePropagator, W3CTraceContextPropagator, CompositePropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { BatchSpanProcessor, NoopSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');

  // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT itself and appends /v1/traces.
  const processors: SpanProcessor[] = [...(opts.spanProcessors ?? [])];
  if (endpoint) processors.push(new BatchSpanProcessor(opts.otlpEndpoint ? new OTLPTraceExporter({ url: `${opts.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }) : new OTLPTraceExporter()));
  // A processor is needed for NodeSDK to register a tracer provider (and so real trace ids).
  if (processors.length === 0) processors.push(new NoopSpanProcessor());

  sdk = new NodeSDK({
    serviceName,
    spanProcessors: processors,
    metricReaders: [],
    logRecordProcessors: [],
    textMapPropagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    instrumentations: [new PgInstrumentation({ requireParentSpan: true }), new UndiciInstrumentation()],
  });
  sdk.start();
  return { serviceName, exporting: Boolean(endpoint) };
}

/** Flushes and stops tracing (safe to call when not started). */
export async function shutdownTelemetry(): Promise<void> {
  const s = sdk;
  sdk = undefined;
  if (s) await s.shutdown();
}
