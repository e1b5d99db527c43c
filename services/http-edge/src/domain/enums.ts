// REST words for the contract enums, both ways (pure). REST uses the enum value names
// (PRODUCTS, FULL, SUCCESS, ...) as the original API did for sync_type and status.
import { sync } from '@haier-sync/contracts';
import { enumNames } from '@haier-sync/runtime';

export const SYNC_TYPES = enumNames(sync.SyncType);
export const RUN_STATUSES = enumNames(sync.RunStatus);
export const RUN_MODES = enumNames(sync.RunMode);
export const RUN_TRIGGERS = enumNames(sync.RunTrigger);

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
