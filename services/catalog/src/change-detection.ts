// Exact change detection: merges an incoming product with what is stored, and names the
// fields that really changed (decimals compared by value). Pure functions.
import { createHash } from 'node:crypto';
import { decimalEquals } from './stored-decimal';
import { displayPrice } from './display-price';
import type { NormalisedInput } from './product-input';
import { DECIMAL_COLUMNS, LISTING_FIELDS, PRICE_COLUMNS, PRICE_FIELDS, SYNCED_FIELDS, isHashedWhenSet, type Descriptive, type Prices, type ProductColumn } from './product-table';

/** The fields a sync owns (plus the derived display price). */
export interface SyncedState extends Prices, Descriptive {}

/** What is stored for a product, as far as change detection needs it. */
export interface StoredState extends SyncedState {
  code: string;
  pinned_price: string | null;
  display_price: string | null;
  version: number;
  content_hash: string;
}

export type ChangeKind = 'created' | 'updated' | 'price_changed' | 'stock_changed' | 'delisted' | 'relisted';

export interface FieldChange {
  field: string;
  /** JSON text; "null" when absent. */
  before: string;
  after: string;
}

export type Decision =
  | { outcome: 'created'; code: string; state: SyncedState; display_price: string | null; content_hash: string }
  | { outcome: 'unchanged'; code: string; version: number }
  | {
      outcome: 'updated';
      code: string;
      kind: 'updated' | 'price_changed';
      state: SyncedState;
      display_price: string | null;
      content_hash: string;
      fields: FieldChange[];
      version: number;
    };

const DECIMAL_FIELDS = new Set<string>(DECIMAL_COLUMNS);
/** Fields whose change alone makes a change "price_changed". */
export const PRICE_GROUP = new Set<string>([...PRICE_COLUMNS, 'display_price', 'pinned_price']);
/** Fields recorded in price history when they change. */
export const HISTORY_FIELDS = new Set<string>([...PRICE_FIELDS, 'display_price', 'pinned_price']);

const isSet = (v: unknown): boolean => v !== null && v !== undefined && v !== '';

/**
 * sha256 over the normalised synced fields in table order; a field marked hashWhenSet counts
 * (with its name) only when set, so adding a synced field keeps the stored hashes valid.
 */
const HASH_PLAN = SYNCED_FIELDS.map((f) => [f, isHashedWhenSet(f)] as const);

export function contentHash(state: SyncedState): string {
  const h = createHash('sha256');
  const values: unknown[] = [];
  for (const [f, whenSet] of HASH_PLAN) {
    if (!whenSet) values.push(state[f]);
    else if (isSet(state[f])) values.push([f, state[f]]);
  }
  h.update(JSON.stringify(values));
  return h.digest('hex');
}

/** The stored prices (or none) for an input that carries no prices. */
function keptPrices(stored: Prices | null): Prices {
  const out: Record<string, string | null> = {};
  for (const n of PRICE_COLUMNS) out[n] = stored?.[n] ?? (DECIMAL_FIELDS.has(n) ? null : '');
  return out as Prices;
}

/**
 * What a sync writes: the input's listing fields (the stored ones for a prices-only input), its
 * prices (or the stored ones when it carries none).
 */
export function mergeInput(input: NormalisedInput, stored: (Prices & Partial<Descriptive>) | null): SyncedState {
  const out: Record<string, unknown> = {};
  for (const f of LISTING_FIELDS) {
    if (!input.pricesOnly) out[f] = input[f];
    else if (stored && stored[f] !== undefined) out[f] = stored[f];
    else throw new Error(`a prices-only input of ${input.code} was merged without its stored listing field ${f}`);
  }
  const prices = input.prices ?? keptPrices(stored);
  for (const f of PRICE_COLUMNS) out[f] = prices[f];
  return out as unknown as SyncedState;
}

function sameValue(field: string, a: unknown, b: unknown): boolean {
  if (DECIMAL_FIELDS.has(field)) return decimalEquals(a as string | null, b as string | null);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

export const json = (v: unknown): string => JSON.stringify(v ?? null);

/** Lists changed fields between two records for the given field names. */
export function diffFields(before: Record<string, unknown>, after: Record<string, unknown>, fields: readonly string[]): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of fields) {
    if (!sameValue(f, before[f] ?? null, after[f] ?? null)) out.push({ field: f, before: json(before[f]), after: json(after[f]) });
  }
  return out;
}

export function classify(fields: readonly FieldChange[]): 'updated' | 'price_changed' {
  return fields.every((f) => PRICE_GROUP.has(f.field)) ? 'price_changed' : 'updated';
}

/** What a quick unchanged-check needs of a stored product (no row locks, few columns). */
export interface StoredDigest extends Prices {
  pinned_price: string | null;
  display_price: string | null;
  content_hash: string;
}

/** True when the input would change nothing stored: same content hash and same display price (a prices-only input needs the whole stored state). */
export function isUnchanged(input: NormalisedInput, stored: StoredDigest & Partial<Descriptive>): boolean {
  const state = mergeInput(input, stored);
  return contentHash(state) === stored.content_hash && decimalEquals(displayPrice(state, stored.pinned_price), stored.display_price);
}

/** Decides what to do with one incoming product given what is stored (undefined = new code). */
export function decide(input: NormalisedInput, stored: StoredState | undefined): Decision {
  const state = mergeInput(input, stored ?? null);
  const hash = contentHash(state);
  if (!stored) {
    return { outcome: 'created', code: input.code, state, display_price: displayPrice(state, null), content_hash: hash };
  }
  const newDisplay = displayPrice(state, stored.pinned_price);
  if (hash === stored.content_hash && decimalEquals(newDisplay, stored.display_price)) {
    return { outcome: 'unchanged', code: input.code, version: stored.version };
  }
  const fields = diffFields(
    { ...stored } as unknown as Record<string, unknown>,
    { ...state, display_price: newDisplay } as unknown as Record<string, unknown>,
    [...SYNCED_FIELDS, 'display_price'] satisfies ProductColumn[],
  );
  if (fields.length === 0) return { outcome: 'unchanged', code: input.code, version: stored.version };
  return {
    outcome: 'updated',
    code: input.code,
    kind: classify(fields),
    state,
    display_price: newDisplay,
    content_hash: hash,
    fields,
    version: stored.version + 1,
  };
}
