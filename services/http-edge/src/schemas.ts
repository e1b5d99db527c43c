// JSON schemas shared by the routes (validation in, serialization out, OpenAPI docs).
export const CODE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$';
export const CODE_RE = new RegExp(CODE_PATTERN);
export const COUNTY_PATTERN = '^[0-9]{6}$';
/** A decimal as a string: up to 16 integer and 4 fraction digits (numeric(20,4)). */
export const DECIMAL_PATTERN = '^[0-9]{1,16}(\\.[0-9]{1,4})?$';
/** Comma-separated codes in one query parameter. */
export const CODES_LIST = { type: 'string', maxLength: 41_000, description: 'Comma-separated product codes, e.g. GA0SZC00U,BC0Z6Q00B (at most 1,000).' } as const;
export const MAX_CODES = 1000;

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
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
  required: ['id'],
  additionalProperties: false,
} as const;

export const configIdParam = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,17}$', description: 'The config id (a positive whole number)' } },
  required: ['id'],
  additionalProperties: false,
} as const;

export const codeParam = {
  type: 'object',
  properties: { code: { type: 'string', pattern: CODE_PATTERN } },
  required: ['code'],
  additionalProperties: false,
} as const;

/** A plain `{success:true, message}` answer. */
export const successMessage = {
  type: 'object',
  properties: { success: { type: 'boolean' }, message: { type: 'string' } },
} as const;
