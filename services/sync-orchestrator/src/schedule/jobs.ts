// What each scheduled job asks the runs engine for. Pure.
import { create } from '@bufbuild/protobuf';
import { sync } from '@haier-sync/contracts';

export type JobName = 'full' | 'prices' | 'low_stock' | 'integrity';

export const JOB_NAMES: readonly JobName[] = ['full', 'prices', 'low_stock', 'integrity'];

export type ScheduleVariable = 'SYNC_SCHEDULE_FULL' | 'SYNC_SCHEDULE_PRICES' | 'SYNC_SCHEDULE_LOW_STOCK' | 'SYNC_SCHEDULE_INTEGRITY';

export const JOB_VARIABLES: Record<JobName, ScheduleVariable> = {
  full: 'SYNC_SCHEDULE_FULL',
  prices: 'SYNC_SCHEDULE_PRICES',
  low_stock: 'SYNC_SCHEDULE_LOW_STOCK',
  integrity: 'SYNC_SCHEDULE_INTEGRITY',
};

/** Defaults (UTC): daily FULL at 03:00, hourly prices, low stock every 15 minutes, integrity hourly at :30. */
export const DEFAULT_CRONS: Record<JobName, string> = {
  full: '0 3 * * *',
  prices: '0 * * * *',
  low_stock: '*/15 * * * *',
  integrity: '30 * * * *',
};

const BY = 'scheduler';

/** A FULL run (products, prices and stock of the configured counties). */
export function fullRunRequest(trigger: sync.RunTrigger, counties: string[], startedBy = BY): sync.StartRunRequest {
  return create(sync.StartRunRequestSchema, {
    syncType: sync.SyncType.PRODUCTS,
    mode: sync.RunMode.FULL,
    trigger,
    options: { prices: true, stock: true, countyCodes: counties },
    startedBy,
  });
}

/** Hourly: prices of every procurable product. */
export function pricesRunRequest(startedBy = BY): sync.StartRunRequest {
  return create(sync.StartRunRequestSchema, {
    syncType: sync.SyncType.PRICES,
    mode: sync.RunMode.INCREMENTAL,
    trigger: sync.RunTrigger.SCHEDULE,
    options: { prices: true },
    startedBy,
  });
}

/** Every 15 minutes: stock of the products below the low-stock threshold (the engine picks them). */
export function lowStockRunRequest(counties: string[], startedBy = BY): sync.StartRunRequest {
  return create(sync.StartRunRequestSchema, {
    syncType: sync.SyncType.STOCK,
    mode: sync.RunMode.INCREMENTAL,
    trigger: sync.RunTrigger.LOW_STOCK,
    options: { stock: true, countyCodes: counties },
    startedBy,
  });
}
