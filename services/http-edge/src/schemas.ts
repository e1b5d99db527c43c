// JSON schemas shared by the routes (validation in, serialization out, OpenAPI docs). The input
// rules (codes, county codes, decimals, ids, list sizes) are derived from the one rulebook in
// @haier-sync/contracts, which every gRPC service enforces too: the same values pass everywhere.
import { rules } from '@haier-sync/contracts';
import { catalogProductSchema } from './domain/catalog-view';

export const codeSchema = rules.jsonSchema(rules.productCode);
export const countySchema = rules.jsonSchema(rules.countyCode);
export const orderCodeSchema = rules.jsonSchema(rules.orderCode);
/** A decimal amount as a string (numeric(20,4), not negative). */
export const moneySchema = rules.jsonSchema(rules.money);
/** A run's product codes and county codes (JSON arrays). */
export const scopeCodesSchema = rules.jsonListSchema(rules.codeList(0));
export const countyCodesSchema = rules.jsonListSchema(rules.countyList);
export const scopeLimitSchema = rules.jsonIntSchema(rules.scopeLimit);
/** Comma-separated codes in one query parameter (each code and the count are checked by `rules`, see routes/live.ts). */
export const CODES_LIST = {
  type: 'string',
  maxLength: rules.MAX_CODES_PER_REQUEST * (rules.productCode.maxLength + 1),
  description: `Comma-separated product codes, e.g. GA0SZC00U,BC0Z6Q00B (at most ${rules.MAX_CODES_PER_REQUEST.toLocaleString('en')}).`,
} as const;

const errorBodySchema = {
  type: 'object',
  properties: {
    success: { type: 'boolean', enum: [false] },
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        field: { type: 'string' },
        run_id: { type: 'string' },
        budget: {
          type: 'object',
          description: "On a 429 of the Haier call budget (CALL_BUDGET, LANE_FULL): the budget that refused and when to retry",
          properties: {
            scope: { type: 'string', enum: ['key', 'lane'], description: "key: this API key's Haier calls per minute (EDGE_CALL_BUDGET_<ROLE>); lane: the gateway's lane for live lookups (HAIER_LANES)" },
            lane: { type: 'string', description: 'the lane (interactive) when scope is lane; the key\'s role when scope is key' },
            limit: { type: 'integer', description: 'calls the budget allows per window' },
            window_s: { type: 'integer', description: 'the window in seconds (60 for a key, 1 for a lane)' },
            in_use: { type: 'integer', description: 'calls spent (key) or held and admitted (lane) in the window' },
            cost: { type: 'integer', description: 'the Haier calls this request would have made' },
            retry_after_s: { type: 'integer', description: 'as the Retry-After header' },
          },
          required: ['scope', 'lane', 'limit', 'window_s', 'in_use', 'cost', 'retry_after_s'],
        },
      },
      required: ['code', 'message'],
    },
  },
  required: ['success', 'error'],
} as const;

export const errors = { '4xx': { $ref: 'Error#' }, '5xx': { $ref: 'Error#' } } as const;

/** A route's answers: `{success, data, …extra}` with `status` (default 200), and the error shapes. */
export function dataAnswer(data: object, extra: Record<string, object> = {}, status = 200) {
  return { [status]: { type: 'object', properties: { success: { type: 'boolean' }, data, ...extra } }, ...errors } as const;
}

/**
 * A listing route's answers, one envelope for all: `{success, count, results: [items], …extra}`
 * (count: the items on this page), and the error shapes. Paged lists add `total` (all matching
 * items) where counting them is cheap, else `has_more`, and `next_cursor`.
 */
export function listAnswer(items: object, extra: Record<string, object> = {}) {
  return {
    200: { type: 'object', properties: { success: { type: 'boolean' }, count: { type: 'integer', description: 'items on this page' }, results: { type: 'array', items }, ...extra } },
    ...errors,
  } as const;
}

/** The query of a route that takes no parameters (an unknown one is a 400 naming it). */
export const noQuery = { type: 'object', properties: {}, additionalProperties: false } as const;

/** `total`: every matching item, over all pages. */
export const totalField = { total: { type: 'integer', description: 'matching items over all pages' } } as const;
/** `has_more` and `next_cursor`: another page follows (where a total would cost a count over the whole table). */
export const moreFields = { has_more: { type: 'boolean' }, next_cursor: { type: ['string', 'null'] } } as const;

export const nullableString = { type: ['string', 'null'] } as const;
export const nullableNumber = { type: ['number', 'null'] } as const;

const runBody = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    sync_type: { type: 'string' },
    mode: { type: 'string' },
    status: { type: 'string' },
    trigger: { type: 'string' },
    scope: {
      type: 'object',
      properties: {
        product_codes: { type: 'array', items: { type: 'string' } },
        category: { type: 'string' },
        brand: { type: 'string' },
        limit: { type: 'integer' },
      },
    },
    options: {
      type: 'object',
      properties: {
        prices: { type: 'boolean' },
        stock: { type: 'boolean' },
        county_codes: { type: 'array', items: { type: 'string' } },
        dry_run: { type: 'boolean' },
        images: { type: 'boolean', description: 'the run mirrors the products\' images' },
        recheck_images: { type: 'boolean', description: 'the run revalidates every image, also the recently checked ones' },
      },
    },
    started_by: { type: 'string' },
    counts: {
      type: 'object',
      properties: Object.fromEntries(
        ['total', 'succeeded', 'failed', 'created', 'updated', 'unchanged', 'delisted', 'batches_total', 'batches_done', 'upstream_calls'].map((k) => [k, { type: 'integer' }]),
      ),
    },
    message: { type: 'string' },
    created_at: nullableString,
    started_at: nullableString,
    completed_at: nullableString,
    duration: { ...nullableNumber, description: 'seconds' },
    finished: { type: 'boolean' },
    failed_items: { type: 'array', items: { type: 'object', properties: { product_code: { type: 'string' }, reason: { type: 'string' } } } },
    planned_changes: { type: 'array', items: { type: 'string' } },
    retry_of: { ...nullableString, description: 'the run whose failed products this run retries (POST /api/haier/sync/{id}/retry-failed/)' },
  },
} as const;

const logEntryBody = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    sync_type: { type: 'string' },
    sync_type_display: { type: 'string' },
    status: { type: 'string' },
    status_display: { type: 'string' },
    message: { type: 'string' },
    total_count: { type: 'integer' },
    success_count: { type: 'integer' },
    failed_count: { type: 'integer' },
    started_at: nullableString,
    completed_at: nullableString,
    duration: { ...nullableNumber, description: 'seconds' },
  },
} as const;

const runLogLineBody = {
  type: 'object',
  properties: {
    seq: { type: 'string', description: "orders a run's lines (gaps are normal)" },
    at: { type: 'string' },
    level: { type: 'string', enum: ['INFO', 'SUCCESS', 'WARNING', 'ERROR', 'DEBUG'] },
    message: { type: 'string' },
    product_code: { ...nullableString, description: 'the product the line is about' },
    endpoint: { ...nullableString, description: 'the upstream endpoint it is about: products, prices, stock, catalog or images' },
    attempt: { type: ['integer', 'null'], description: 'the batch attempt it happened in (1 = the first try)' },
  },
} as const;

/** Per level: lines written (total), kept (stored, at most `cap`) and left out past the cap (dropped: "n more"). */
export const runLogCountsSchema = {
  type: 'object',
  description: 'per level (INFO, SUCCESS, WARNING, ERROR, DEBUG): lines written, kept (at most cap) and dropped past the cap',
  additionalProperties: { type: 'object', properties: { total: { type: 'integer' }, stored: { type: 'integer' }, dropped: { type: 'integer' } } },
} as const;

const configBody = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    environment: { type: 'string' },
    settings: { type: 'object', additionalProperties: true },
    active: { type: 'boolean' },
    created_at: nullableString,
    updated_at: nullableString,
  },
} as const;

const keyInfoBody = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    role: { type: 'string' },
    prefix: { type: 'string' },
    created_at: { type: 'string' },
    revoked_at: nullableString,
    last_used_at: nullableString,
  },
} as const;

const scheduleBody = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'full, prices, low_stock, integrity, image_orphans' },
    kind: { type: 'string', enum: ['CRON', 'FRESHNESS'], description: 'CRON: fires at the ticks of its cron (UTC); FRESHNESS: keeps data younger than max_age_seconds' },
    description: { type: 'string' },
    cron: { ...nullableString, description: 'CRON: the cron expression (UTC), null when switched off; FRESHNESS: how often it checks (null when continuous)' },
    max_age_seconds: { ...nullableNumber, description: 'FRESHNESS: the max age the job keeps its data under' },
    variable: { type: 'string', description: 'the environment variable that sets it' },
    enabled: { type: 'boolean', description: 'false: switched off in the configuration; run now still works' },
    next_fire_at: { ...nullableString, description: 'null while paused or switched off' },
    last_fired_at: nullableString,
    last_run_id: { ...nullableString, description: 'the run its last firing started or joined' },
    last_run_status: nullableString,
    last_error: { ...nullableString, description: 'why its last firing failed' },
    paused: { type: 'boolean' },
    paused_by: nullableString,
    paused_at: nullableString,
    recent_changes: {
      type: 'array',
      description: 'the last pauses, resumes and run-nows, newest first (at most 5)',
      items: { type: 'object', properties: { action: { type: 'string', enum: ['pause', 'resume', 'run_now'] }, by: { type: 'string' }, at: nullableString, run_id: nullableString } },
    },
  },
} as const;

export const idParam = {
  type: 'object',
  properties: { id: rules.jsonSchema(rules.runId) },
  required: ['id'],
  additionalProperties: false,
} as const;

export const configIdParam = {
  type: 'object',
  properties: { id: rules.jsonSchema(rules.configId) },
  required: ['id'],
  additionalProperties: false,
} as const;

export const codeParam = {
  type: 'object',
  properties: { code: codeSchema },
  required: ['code'],
  additionalProperties: false,
} as const;

/** A plain `{success:true, message}` answer. */
const successMessageBody = {
  type: 'object',
  properties: { success: { type: 'boolean' }, message: { type: 'string' } },
} as const;

/**
 * The named schemas, one place each: registered with Fastify (`app.addSchema`, $id = the name),
 * used by the routes as `{ $ref: 'Name#' }` (validation and serialization resolve them), and
 * published in the OpenAPI document as `#/components/schemas/<Name>` (so the generated REST
 * client, packages/rest-client, has one type per name).
 */
export const componentSchemas = {
  Error: {
    ...errorBodySchema,
    description: 'Every error answer (4xx and 5xx): a code, a message saying what to do, and the field at fault when there is one.',
    examples: [{ success: false, error: { code: 'BAD_REQUEST', message: 'product_codes[0] must be a Haier product code (letters and digits, 1-40 characters)', field: 'product_codes[0]' } }],
  },
  Run: {
    ...runBody,
    description: 'A sync run: what it covers, its status and counts.',
    examples: [
      {
        id: '42',
        sync_type: 'MANUAL',
        mode: 'INCREMENTAL',
        status: 'SUCCESS',
        trigger: 'MANUAL',
        scope: { product_codes: ['CE0X2Y2IS'] },
        options: { prices: true, stock: false, county_codes: [], dry_run: false, images: false, recheck_images: false },
        started_by: 'operator-key',
        counts: { total: 1, succeeded: 1, failed: 0, created: 0, updated: 1, unchanged: 0, delisted: 0, batches_total: 1, batches_done: 1, upstream_calls: 2 },
        message: '1 product: 1 updated',
        created_at: '2026-12-01T09:00:00.000Z',
        started_at: '2026-12-01T09:00:00.120Z',
        completed_at: '2026-12-01T09:00:01.480Z',
        duration: 1.36,
        finished: true,
        failed_items: [],
        planned_changes: [],
        retry_of: null,
      },
    ],
  },
  Product: { ...catalogProductSchema, description: 'A product of the synced catalog (the fields of catalog.Product; money as decimal strings, times UTC).' },
  RunLogLine: {
    ...runLogLineBody,
    description: "A line of one run's own log (GET /api/haier/sync/{id}/log/).",
    examples: [{ seq: '118', at: '2026-12-01T09:00:01.200Z', level: 'WARNING', message: 'CE0X2Y2IS failed: price: price not in force', product_code: 'CE0X2Y2IS', endpoint: 'prices', attempt: 1 }],
  },
  SyncLogEntry: { ...logEntryBody, description: "A line of the sync and operation log (the original's HaierSyncLog)." },
  HaierConfig: { ...configBody, description: 'A Haier API configuration; secrets are masked.' },
  ApiKey: { ...keyInfoBody, description: 'An API key as listed: never the key itself.', examples: [{ name: 'shop-frontend', role: 'viewer', prefix: 'hs_3fa9', created_at: '2026-12-01T09:00:00.000Z', revoked_at: null, last_used_at: null }] },
  Schedule: {
    ...scheduleBody,
    description: "A scheduled job of the sync orchestrator: its cron or freshness target, next fire time, last run and its status, and whether (and by whom) it is paused.",
    examples: [
      {
        name: 'prices',
        kind: 'CRON',
        description: 'INCREMENTAL PRICES run: prices of every procurable product',
        cron: '0 * * * *',
        max_age_seconds: null,
        variable: 'SYNC_SCHEDULE_PRICES',
        enabled: true,
        next_fire_at: null,
        last_fired_at: '2026-12-01T09:00:00.000Z',
        last_run_id: '42',
        last_run_status: 'SUCCESS',
        last_error: null,
        paused: true,
        paused_by: 'ops-key',
        paused_at: '2026-12-01T09:10:00.000Z',
        recent_changes: [{ action: 'pause', by: 'ops-key', at: '2026-12-01T09:10:00.000Z', run_id: null }],
      },
    ],
  },
  SuccessMessage: { ...successMessageBody, description: 'A plain success answer with a message.' },
} as const;

export type ComponentName = keyof typeof componentSchemas;
/** A reference to a named schema (see componentSchemas). */
export const ref = (name: ComponentName) => ({ $ref: `${name}#` }) as const;

export const errorSchema = ref('Error');
export const runSchema = ref('Run');
export const logEntrySchema = ref('SyncLogEntry');
export const runLogLineSchema = ref('RunLogLine');
export const configSchema = ref('HaierConfig');
export const keyInfoSchema = ref('ApiKey');
export const successMessage = ref('SuccessMessage');
export const scheduleSchema = ref('Schedule');
/** A catalog product as REST answers it: derived from catalog.Product (see domain/catalog-view.ts). */
export const productSchema = ref('Product');
