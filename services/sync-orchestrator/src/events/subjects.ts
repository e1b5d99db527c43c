// Subject, stream and message-id naming for everything this service publishes. Pure functions.
import { catalog } from '@haier-sync/contracts';
import { enumName } from '@haier-sync/runtime';

/** Normalises a subject prefix: "" stays "", "t_x7" and "t_x7." both become "t_x7.". */
export function normalisePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').trim();
  if (p === '') return '';
  return p.endsWith('.') ? p : `${p}.`;
}

/** Stream name for a base name under a prefix: ("t_x7.", "CATALOG") -> "T_X7_CATALOG"; ("", "SYNC") -> "SYNC". */
export function streamName(prefix: string, base: 'CATALOG' | 'SYNC'): string {
  const p = normalisePrefix(prefix).replace(/\.$/, '');
  if (p === '') return base;
  return `${p.toUpperCase().replace(/[^A-Z0-9_-]/g, '_')}_${base}`;
}

export interface StreamSpec {
  name: string;
  subjects: string[];
}

/** The two streams and the subjects each captures. */
export function streamSpecs(prefix: string): { catalog: StreamSpec; sync: StreamSpec } {
  const p = normalisePrefix(prefix);
  return {
    catalog: { name: streamName(p, 'CATALOG'), subjects: [`${p}catalog.product.*`, `${p}catalog.stock.low`] },
    sync: { name: streamName(p, 'SYNC'), subjects: [`${p}sync.run.*`] },
  };
}

/**
 * The KV bucket holding the latest ProductChanged per product ("CATALOG_PRODUCTS", or
 * "T_X7_CATALOG_PRODUCTS" under a prefix): a subscriber's bootstrap (docs/events.md).
 */
export function productsBucket(prefix: string): string {
  return `${streamName(prefix, 'CATALOG')}_PRODUCTS`;
}

const SAFE_KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * A product's key in the bucket: the code itself, or, for a code a NATS subject cannot carry
 * ("A..B", "A."), "=" and the code in base64url. Subscribers read the code from the value.
 */
export function productKey(code: string): string {
  return SAFE_KEY.test(code) ? code : `=${Buffer.from(code, 'utf8').toString('base64url')}`;
}

/** The subject a KV put for the product goes to ($KV.<bucket>.<key>, the KV protocol's own). */
export function productKeySubject(prefix: string, code: string): string {
  return `$KV.${productsBucket(prefix)}.${productKey(code)}`;
}

/** A change kind as its subject token ("price_changed"); undefined for one this build does not know. */
export function changeKindToken(kind: catalog.ChangeKind): string | undefined {
  return enumName(catalog.ChangeKind, kind)?.toLowerCase();
}

/** "catalog.product.<kind>" under the prefix; undefined for a kind we do not know (never published). */
export function productSubject(prefix: string, kind: catalog.ChangeKind): string | undefined {
  const token = changeKindToken(kind);
  return token ? `${normalisePrefix(prefix)}catalog.product.${token}` : undefined;
}

export function stockLowSubject(prefix: string): string {
  return `${normalisePrefix(prefix)}catalog.stock.low`;
}

const RUN_KINDS = new Set(['started', 'progress', 'completed', 'failed']);

/**
 * Subject for a row of the run_events outbox. The row may hold the bare kind ("started"),
 * the unprefixed subject ("sync.run.started") or an already prefixed one.
 */
export function runSubject(prefix: string, stored: string): string {
  const p = normalisePrefix(prefix);
  if (p !== '' && stored.startsWith(p)) return stored;
  if (RUN_KINDS.has(stored)) return `${p}sync.run.${stored}`;
  return `${p}${stored}`;
}

export const productMsgId = (code: string, version: bigint | number | string): string => `${code}:${version}`;
export const stockLowMsgId = (code: string, version: bigint | number | string): string => `${code}:${version}:low`;

export const CONTENT_TYPES = {
  productChanged: 'application/x-protobuf; proto=haiersync.events.v1.ProductChanged',
  stockLow: 'application/x-protobuf; proto=haiersync.events.v1.StockLow',
  runEvent: 'application/x-protobuf; proto=haiersync.events.v1.RunEvent',
} as const;
