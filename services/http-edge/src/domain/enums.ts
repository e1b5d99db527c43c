// REST words for the contract enums, both ways (pure). REST uses the enum value names
// (PRODUCTS, FULL, SUCCESS, ...) as the original API did for sync_type and status.
import { sync } from '@haier-sync/contracts';

function names<E extends Record<string, string | number>>(e: E): string[] {
  return Object.keys(e).filter((k) => Number.isNaN(Number(k)) && k !== 'UNSPECIFIED');
}

export const SYNC_TYPES = names(sync.SyncType);
export const RUN_STATUSES = names(sync.RunStatus);
export const RUN_MODES = names(sync.RunMode);
export const RUN_TRIGGERS = names(sync.RunTrigger);

export function enumName(e: Record<number, string>, v: number): string {
  return v === 0 ? '' : (e[v] ?? String(v));
}

export function enumValue<E extends Record<string, string | number>>(e: E, name: string | undefined): number {
  if (!name) return 0;
  const v = (e as Record<string, string | number>)[name.toUpperCase()];
  return typeof v === 'number' ? v : 0;
}

/** Labels as the original's Django choices showed them. */
export const SYNC_TYPE_LABELS: Record<string, string> = {
  PRODUCTS: 'Product sync',
  PRICES: 'Price sync',
  STOCK: 'Stock sync',
  ORDER: 'Order sync',
  LOGISTICS: 'Logistics query',
  MANUAL: 'Manual operation',
};

export const STATUS_LABELS: Record<string, string> = {
  PENDING: 'Pending',
  PROCESSING: 'Processing',
  SUCCESS: 'Success',
  FAILED: 'Failed',
  PARTIAL: 'Partial success',
  CANCELLED: 'Cancelled',
};
