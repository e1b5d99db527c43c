// Sync runs over REST: start (202, or 409 with the active run's id), list, one, cancel, and the
// live progress as Server-Sent Events; and the original's /logs/ listing ({count, results}).
import type { OutgoingHttpHeaders } from 'node:http';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import { rules, sync } from '@haier-sync/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EdgeContext } from '../context';
import { enumValue } from '@haier-sync/runtime';
import { RUN_MODES, RUN_STATUSES, RUN_TRIGGERS, SYNC_TYPES } from '../domain/enums';
import { badRequest, body as errorBody, EdgeError, mapConnectError } from '../domain/errors';
import { iso, isFinished, logEntryOut, runOut } from '../domain/run-view';
import { RunWatchHub } from '../run-watch-hub';
import {
  countyCodesSchema,
  dataAnswer,
  errors,
  idParam,
  listAnswer,
  logEntrySchema,
  moreFields,
  noQuery,
  runLogCountsSchema,
  runLogLineSchema,
  runSchema,
  scopeCodesSchema,
  scopeLimitSchema,
  totalField,
} from '../schemas';

const upperOrLower = (names: string[]) => ({ type: 'string', enum: [...names, ...names.map((n) => n.toLowerCase())] }) as const;

interface StartBody {
  mode?: string;
  sync_type?: string;
  scope?: { product_codes?: string[]; category?: string; brand?: string; limit?: number };
  options?: { prices?: boolean; stock?: boolean; county_codes?: string[]; dry_run?: boolean; images?: boolean; recheck_images?: boolean };
  dry_run?: boolean;
}

interface ListQuery {
  sync_type?: string;
  status?: string;
  trigger?: string;
  since?: string;
  until?: string;
  page_size?: number;
  cursor?: string;
  include?: string;
}

const runAnswer = (status: number) => dataAnswer(runSchema, {}, status);

function date(field: string, v: string | undefined) {
  if (!v) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw badRequest(field, 'is not a date-time such as 2026-01-31T00:00:00Z');
  return timestampFromDate(d);
}

/** The SSE "error" event when progress stops before the run has ended. */
function stoppedEarly(runId: string) {
  return errorBody('UNAVAILABLE', `The sync orchestrator stopped sending progress before run ${runId} ended (it may be restarting). The run goes on; reconnect to this stream or read /api/haier/sync/${runId}/ to follow it.`);
}

/**
 * Opens a Server-Sent Events answer (numbered events, a keep-alive comment every 15 s) that ends
 * when the client goes, or with an "error" event when the caller's API key is revoked meanwhile.
 */
function openEventStream(req: FastifyRequest, reply: FastifyReply, ctx: EdgeContext) {
  const abort = new AbortController();
  reply.hijack();
  const res = reply.raw;
  // headers the hooks set (CORS, rate limit) go out too: a hijacked reply skips Fastify's own sending
  res.writeHead(200, {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-store, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let seq = 0;
  const send = (event: string, data: unknown) => {
    if (!res.writableEnded) res.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const heartbeat = setInterval(() => !res.writableEnded && res.write(': keep-alive\n\n'), 15_000);
  req.raw.on('close', () => abort.abort());
  res.on('close', () => abort.abort());
  const unwatch = req.auth
    ? ctx.auth.watch(req.auth.name, () => {
        send('error', errorBody('UNAUTHENTICATED', `The API key "${req.auth?.name}" has been revoked; this stream ends. Ask an admin for a valid key.`));
        abort.abort();
      })
    : () => undefined;
  return {
    send,
    signal: abort.signal,
    close() {
      unwatch();
      clearInterval(heartbeat);
      if (!res.writableEnded) res.end();
    },
  };
}

const LOG_LEVEL_NAMES = ['INFO', 'SUCCESS', 'WARNING', 'ERROR', 'DEBUG'];

function logLevels(v: string | undefined): sync.LogLevel[] {
  if (!v) return [];
  return v.split(',').map((name) => {
    const n = name.trim().toUpperCase();
    if (!LOG_LEVEL_NAMES.includes(n)) throw badRequest('level', `must be one or more of ${LOG_LEVEL_NAMES.join(', ')}, comma separated (got "${name}")`);
    return enumValue(sync.LogLevel, n);
  });
}

function logLineOut(l: sync.RunLogLine) {
  return {
    seq: String(l.seq),
    at: iso(l.at),
    level: sync.LogLevel[l.level] ?? String(l.level),
    message: l.message,
    product_code: l.productCode || null,
    endpoint: l.endpoint || null,
    attempt: l.attempt || null,
  };
}

function logCountsOut(counts: readonly sync.RunLogCount[]) {
  return Object.fromEntries(counts.map((c) => [sync.LogLevel[c.level] ?? String(c.level), { total: Number(c.total), stored: Number(c.stored), dropped: Number(c.dropped) }]));
}

interface LogQuery {
  level?: string;
  code?: string;
  page_size?: number;
  cursor?: string;
  follow?: boolean;
}

export function syncRoutes(app: FastifyInstance, ctx: EdgeContext): void {
  const client = ctx.clients.sync;
  // SSE followers of one run share one upstream WatchRun, reopened across orchestrator restarts
  const watches = new RunWatchHub(
    async function* (id, signal) {
      for await (const m of client.watchRun({ id }, { signal })) if (m.run) yield m.run;
    },
    { isFinal: isFinished },
  );
  // SSE followers of one run's log (same filter) share one upstream WatchRunLog; a late one gets the backlog first
  const logWatches = new RunWatchHub<sync.WatchRunLogResponse>(
    async function* (key, signal, last) {
      const { runId, levels, productCode } = JSON.parse(key) as { runId: string; levels: sync.LogLevel[]; productCode: string };
      const afterSeq = last?.lines.length ? last.lines[last.lines.length - 1]!.seq : 0n;
      yield* client.watchRunLog({ runId, levels, productCode, afterSeq }, { signal });
    },
    { isFinal: (m) => m.ended },
    { replay: true },
  );

  /** The SSE "error" event of a stream whose upstream failed (logged). */
  function streamFailure(e: unknown, runId: string, what: string) {
    const ce = ConnectError.from(e);
    ctx.logger.warn({ err: ce.message, run: runId }, `${what} ended with an error`);
    // cancelled by the other side (it shut down) is the same as it going away
    return ce.code === Code.Canceled ? stoppedEarly(runId) : mapConnectError(ce, 'sync').body;
  }

  async function getRun(id: string): Promise<sync.Run> {
    const r = await client.getRun({ id });
    if (!r.run) throw new EdgeError(404, 'NOT_FOUND', `No sync run ${id}; list the runs at /api/haier/sync/.`);
    return r.run;
  }

  app.post<{ Body: StartBody }>(
    '/api/haier/sync/',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['sync'],
        operationId: 'startRun', summary: 'Start a sync run (202 with the run; 409 with the active run when one of that kind is running)',
        body: {
          type: 'object',
          properties: {
            mode: { ...upperOrLower(RUN_MODES), description: 'Default as in the CLI and gRPC: FULL without a scope, INCREMENTAL with one' },
            sync_type: { ...upperOrLower(SYNC_TYPES), description: 'Default: MANUAL with product_codes, PRODUCTS for a FULL run, PRICES otherwise' },
            scope: {
              type: 'object',
              properties: {
                product_codes: scopeCodesSchema,
                category: { type: 'string', maxLength: 200 },
                brand: { type: 'string', maxLength: 200 },
                limit: scopeLimitSchema,
              },
              additionalProperties: false,
            },
            options: {
              type: 'object',
              properties: {
                prices: { type: 'boolean' },
                stock: { type: 'boolean' },
                county_codes: countyCodesSchema,
                dry_run: { type: 'boolean' },
                images: { type: 'boolean', description: 'mirror the products\' images (main + pages) in each batch; absent: on in FULL runs, off otherwise' },
                recheck_images: {
                  type: 'boolean',
                  description: 'revalidate every image, also those checked within SYNC_IMAGE_RECHECK_AFTER (which a run otherwise leaves alone while their URLs are the same); implies images',
                },
              },
              additionalProperties: false,
            },
            dry_run: { type: 'boolean', description: 'Same as options.dry_run' },
          },
          additionalProperties: false,
        },
        response: runAnswer(202),
      },
    },
    async (req, reply) => {
      const b = req.body ?? {};
      const o = b.options ?? {};
      if (o.stock && (o.county_codes?.length ?? 0) === 0) throw badRequest('options.county_codes', 'give at least one county code when options.stock is true');
      const r = await client.startRun({
        // absent: the orchestrator's one default (normaliseStartRun), the same for REST, CLI and gRPC
        syncType: enumValue(sync.SyncType, b.sync_type),
        mode: enumValue(sync.RunMode, b.mode),
        trigger: sync.RunTrigger.MANUAL,
        scope: { productCodes: b.scope?.product_codes ?? [], category: b.scope?.category ?? '', brand: b.scope?.brand ?? '', limit: b.scope?.limit ?? 0 },
        options: { prices: o.prices ?? false, stock: o.stock ?? false, countyCodes: o.county_codes ?? [], dryRun: (o.dry_run ?? false) || (b.dry_run ?? false), images: o.images, recheckImages: o.recheck_images ?? false },
        startedBy: req.auth?.name ?? '',
      });
      if (!r.run) throw new EdgeError(502, 'UPSTREAM_ERROR', 'The sync orchestrator answered without a run; see its log.');
      if (r.alreadyActive) {
        throw new EdgeError(409, 'RUN_ACTIVE', `A ${runOut(r.run).mode || 'sync'} run is already active (${r.run.id}); follow it at /api/haier/sync/${r.run.id}/ or cancel it first.`, undefined, { runId: r.run.id });
      }
      return reply.status(202).header('location', `/api/haier/sync/${r.run.id}/`).send({ success: true, data: runOut(r.run) });
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/api/haier/sync/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['sync'],
        operationId: 'listRuns', summary: 'Sync runs, newest first (filters, cursor pages)',
        querystring: {
          type: 'object',
          properties: {
            sync_type: upperOrLower(SYNC_TYPES),
            status: upperOrLower(RUN_STATUSES),
            trigger: upperOrLower(RUN_TRIGGERS),
            since: { type: 'string', format: 'date-time' },
            until: { type: 'string', format: 'date-time' },
            page_size: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            cursor: { ...rules.jsonSchema(rules.runId), description: 'next_cursor of the previous page' },
            include: { type: 'string', enum: ['operations'], description: 'operations: list recorded live lookups too (left out by default)' },
          },
          additionalProperties: false,
        },
        response: listAnswer(runSchema, { ...totalField, ...moreFields }),
      },
    },
    async (req) => {
      const q = req.query;
      const r = await client.listRuns({
        syncType: enumValue(sync.SyncType, q.sync_type),
        status: enumValue(sync.RunStatus, q.status),
        trigger: enumValue(sync.RunTrigger, q.trigger),
        since: date('since', q.since),
        until: date('until', q.until),
        pageSize: q.page_size ?? 50,
        cursor: q.cursor ?? '',
        includeOperations: q.include === 'operations',
      });
      return { success: true, count: r.runs.length, total: Number(r.total), has_more: r.nextCursor !== '', results: r.runs.map(runOut), next_cursor: r.nextCursor || null };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/haier/sync/:id/',
    { config: { role: 'viewer' }, schema: { tags: ['sync'], operationId: 'getRun', summary: 'One sync run with its counts', params: idParam, response: runAnswer(200) } },
    async (req) => ({ success: true, data: runOut(await getRun(req.params.id)) }),
  );

  app.post<{ Params: { id: string } }>(
    '/api/haier/sync/:id/cancel/',
    { config: { role: 'operator' }, schema: { tags: ['sync'], operationId: 'cancelRun', summary: 'Cancel a run (batches in flight finish; no new batch starts)', params: idParam, response: runAnswer(200) } },
    async (req) => {
      const r = await client.cancelRun({ id: req.params.id, cancelledBy: req.auth?.name ?? '' });
      if (!r.run) throw new EdgeError(404, 'NOT_FOUND', `No sync run ${req.params.id}.`);
      return { success: true, data: runOut(r.run) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/haier/sync/:id/retry-failed/',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['sync'],
        operationId: 'retryFailed', summary: 'Retry the failed products of an ended run: a MANUAL run over exactly those codes, linked by retry_of (202; 409 when that retry is already running)',
        params: idParam,
        response: runAnswer(202),
      },
    },
    async (req, reply) => {
      const r = await client.retryFailed({ id: req.params.id, startedBy: req.auth?.name ?? '' });
      if (!r.run) throw new EdgeError(502, 'UPSTREAM_ERROR', 'The sync orchestrator answered without a run; see its log.');
      if (r.alreadyActive) {
        throw new EdgeError(409, 'RUN_ACTIVE', `The retry of run ${req.params.id} is already running (${r.run.id}); follow it at /api/haier/sync/${r.run.id}/.`, undefined, { runId: r.run.id });
      }
      return reply.status(202).header('location', `/api/haier/sync/${r.run.id}/`).send({ success: true, data: runOut(r.run) });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/haier/sync/:id/events/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['sync'],
        operationId: 'followRunEvents', summary:
          'Live progress of a run as Server-Sent Events ("progress" events with the run, then "end"; "reconnecting" while the orchestrator restarts); the stream closes when the run ends',
        params: idParam,
        response: { 200: { description: 'text/event-stream', type: 'string' }, ...errors },
      },
    },
    async (req, reply) => {
      const first = await getRun(req.params.id); // 404 as JSON before the stream starts
      const { send, signal, close } = openEventStream(req, reply, ctx);
      let last = first;
      send('progress', runOut(first));
      try {
        if (!isFinished(first)) {
          const reconnecting = (why: string) =>
            send('reconnecting', { message: `Lost the orchestrator's progress stream for run ${first.id} (${why}); the run goes on; reconnecting…` });
          for await (const run of watches.follow(first.id, signal, reconnecting)) {
            last = run;
            send('progress', runOut(run));
            if (isFinished(run)) break;
          }
        }
        if (!signal.aborted) {
          // a watch that ends before the run does (the orchestrator restarting) is not the run's end
          if (!isFinished(last)) last = await getRun(first.id).catch(() => last);
          if (isFinished(last)) send('end', runOut(last));
          else send('error', stoppedEarly(first.id));
        }
      } catch (e) {
        if (!signal.aborted) send('error', streamFailure(e, first.id, 'run event stream'));
      } finally {
        close();
      }
    },
  );

  app.get<{ Params: { id: string }; Querystring: LogQuery }>(
    '/api/haier/sync/:id/log/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['sync'],
        operationId: 'listRunLog',
        summary:
          "A run's own log, oldest first: INFO (start: who, when, parameters), SUCCESS per product, WARNING per failed product (code, reason, endpoint, attempt), ERROR per failed batch or run, DEBUG. At most SYNC_RUN_LOG_CAP lines (default 1,000) are kept per level; `counts` stays exact (dropped = the lines not kept). With Accept: text/event-stream or follow=true: Server-Sent Events (\"line\" per line, the stored ones first, then \"end\" with the counts when the run ends; \"reconnecting\" while the orchestrator restarts)",
        params: idParam,
        querystring: {
          type: 'object',
          properties: {
            level: { type: 'string', maxLength: 100, description: 'only these levels, comma separated: INFO, SUCCESS, WARNING, ERROR, DEBUG (any case)' },
            code: { ...rules.jsonSchema(rules.productCode), description: 'only lines about this product code' },
            page_size: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: { type: 'string', pattern: '^[0-9]{1,19}$', description: 'next_cursor of the previous page' },
            follow: { type: 'boolean', description: 'answer Server-Sent Events (as Accept: text/event-stream does)' },
          },
          additionalProperties: false,
        },
        response: listAnswer(runLogLineSchema, { ...totalField, ...moreFields, counts: runLogCountsSchema, cap: { type: 'integer', description: 'lines kept per level per run (SYNC_RUN_LOG_CAP)' } }),
      },
    },
    async (req, reply) => {
      const q = req.query;
      const levels = logLevels(q.level);
      const productCode = q.code ?? '';
      const follow = q.follow === true || (req.headers.accept ?? '').includes('text/event-stream');
      if (!follow) {
        const r = await client.listRunLog({ runId: req.params.id, levels, productCode, pageSize: q.page_size ?? 100, pageToken: q.cursor ?? '' });
        return {
          success: true,
          count: r.lines.length,
          total: Number(r.total),
          has_more: r.nextPageToken !== '',
          next_cursor: r.nextPageToken || null,
          results: r.lines.map(logLineOut),
          counts: logCountsOut(r.counts),
          cap: r.cap,
        };
      }
      const first = await getRun(req.params.id); // 404 as JSON before the stream starts
      const { send, signal, close } = openEventStream(req, reply, ctx);
      try {
        const reconnecting = (why: string) => send('reconnecting', { message: `Lost the orchestrator's log stream for run ${first.id} (${why}); the run goes on; reconnecting…` });
        let ended = false;
        for await (const m of logWatches.follow(JSON.stringify({ runId: first.id, levels, productCode }), signal, reconnecting)) {
          for (const l of m.lines) send('line', logLineOut(l));
          if (m.ended) {
            send('end', { counts: logCountsOut(m.counts), cap: m.cap });
            ended = true;
            break;
          }
        }
        if (!ended && !signal.aborted) send('error', stoppedEarly(first.id));
      } catch (e) {
        if (!signal.aborted) send('error', streamFailure(e, first.id, 'run log stream'));
      } finally {
        close();
      }
    },
  );

  const logSchema = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      head_seq: { type: 'integer' },
      published_seq: { type: 'integer' },
      lag: { type: 'integer', description: 'entries written and not yet on NATS' },
      cursor_updated_at: { type: ['string', 'null'] },
      error: { type: 'string' },
    },
  } as const;
  app.get(
    '/api/haier/events/status/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['sync'],
        operationId: 'getEventsStatus', summary: "The event publisher's lag per relayed log (catalog change log, run outbox) and whether NATS answers",
        querystring: noQuery,
        response: dataAnswer({
          type: 'object',
          properties: {
            logs: { type: 'array', items: logSchema },
            nats_error: { type: 'string', description: '"" when NATS answered' },
            subject_prefix: { type: 'string' },
          },
        }),
      },
    },
    async () => {
      const r = await client.getEventsStatus({});
      return {
        success: true,
        data: {
          logs: r.logs.map((l) => ({ name: l.name, head_seq: Number(l.headSeq), published_seq: Number(l.publishedSeq), lag: Number(l.lag), cursor_updated_at: iso(l.cursorUpdatedAt), error: l.error })),
          nats_error: r.natsError,
          subject_prefix: r.subjectPrefix,
        },
      };
    },
  );

  app.get<{ Querystring: { sync_type?: string; status?: string; limit?: number } }>(
    '/api/haier/logs/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['live'],
        operationId: 'listSyncLog', summary: "The sync and operation log, newest first (the original's HaierSyncLog listing)",
        querystring: {
          type: 'object',
          properties: {
            sync_type: upperOrLower(SYNC_TYPES),
            status: upperOrLower(RUN_STATUSES),
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
          additionalProperties: false,
        },
        response: listAnswer(logEntrySchema, totalField),
      },
    },
    async (req) => {
      const q = req.query;
      const r = await client.listRuns({ syncType: enumValue(sync.SyncType, q.sync_type), status: enumValue(sync.RunStatus, q.status), pageSize: q.limit ?? 50, includeOperations: true });
      return { success: true, count: r.runs.length, total: Number(r.total), results: r.runs.map(logEntryOut) };
    },
  );
}
