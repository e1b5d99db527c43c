// JSON schemas shared by the routes (validation in, serialization out, OpenAPI docs). The input
// rules (codes, county codes, decimals, ids, list sizes) are derived from the one rulebook in
// @haier-sync/contracts, which every gRPC service enforces too: the same values pass everywhere.
import { rules } from '@haier-sync/contracts';

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

export const errorSchema = {
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
      },
      required: ['code', 'message'],
    },
  },
  required: ['success', 'error'],
} as const;

export const errors = { '4xx': errorSchema, '5xx': errorSchema } as const;

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

/** `total`: every matching item, over all pages. */
export const totalField = { total: { type: 'integer', description: 'matching items over all pages' } } as const;
/** `has_more` and `next_cursor`: another page follows (where a total would cost a count over the whole table). */
export const moreFields = { has_more: { type: 'boolean' }, next_cursor: { type: ['string', 'null'] } } as const;

const nullableString = { type: ['string', 'null'] } as const;
const nullableNumber = { type: ['number', 'null'] } as const;

export const runSchema = {
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

export const logEntrySchema = {
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

/** A catalog product as REST answers it: derived from catalog.Product (see domain/catalog-view.ts). */
export { catalogProductSchema } from './domain/catalog-view';

export const configSchema = {
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

export const keyInfoSchema = {
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
export const successMessage = {
  type: 'object',
  properties: { success: { type: 'boolean' }, message: { type: 'string' } },
} as const;
