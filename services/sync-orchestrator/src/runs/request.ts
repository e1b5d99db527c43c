// Validating and normalising a StartRunRequest, and the "kind" that makes a second request for
// the same kind of run answer the active one. Pure.
import { createHash } from 'node:crypto';
import { sync } from '@haier-sync/contracts';
import { enumName } from '@haier-sync/runtime';
import { type RunOptionsJson, type RunScopeJson } from './model';

export class RequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface NormalisedRun {
  syncType: string;
  mode: string;
  trigger: string;
  scope: RunScopeJson;
  options: RunOptionsJson;
  startedBy: string;
  kind: string;
}

export interface RequestDefaults {
  counties: string[];
  /** Whether a FULL run mirrors images when it does not say (SYNC_IMAGES_IN_FULL; default true). */
  imagesInFull?: boolean;
}

export function normaliseStartRun(req: sync.StartRunRequest, defaults: RequestDefaults): NormalisedRun {
  // codes, county codes and the limit have passed the rulebook (the server's validation interceptor)
  const codes = [...new Set(req.scope?.productCodes ?? [])];
  const category = (req.scope?.category ?? '').trim();
  const brand = (req.scope?.brand ?? '').trim();
  if (category.length > 200) throw new RequestError('scope.category', 'at most 200 characters');
  if (brand.length > 200) throw new RequestError('scope.brand', 'at most 200 characters');
  const limit = req.scope?.limit ?? 0;
  const scoped = codes.length > 0 || category !== '' || brand !== '' || limit > 0;

  const mode = req.mode === sync.RunMode.UNSPECIFIED ? (scoped ? 'INCREMENTAL' : 'FULL') : enumName(sync.RunMode, req.mode);
  if (!mode) throw new RequestError('mode', `unknown mode ${req.mode}; use FULL or INCREMENTAL`);
  const syncType = req.syncType === sync.SyncType.UNSPECIFIED ? (codes.length ? 'MANUAL' : mode === 'FULL' ? 'PRODUCTS' : 'PRICES') : enumName(sync.SyncType, req.syncType);
  if (!syncType) throw new RequestError('sync_type', `unknown sync type ${req.syncType}`);
  if (syncType === 'ORDER' || syncType === 'LOGISTICS') {
    throw new RequestError('sync_type', `${syncType} is a live operation, not a sync run; record it with RecordOperation`);
  }
  const trigger = req.trigger === sync.RunTrigger.UNSPECIFIED ? 'MANUAL' : enumName(sync.RunTrigger, req.trigger);
  if (!trigger) throw new RequestError('trigger', `unknown trigger ${req.trigger}`);

  const countiesIn = [...new Set(req.options?.countyCodes ?? [])];
  const stock = (req.options?.stock ?? false) || syncType === 'STOCK';
  const counties = countiesIn.length ? countiesIn : stock ? [...defaults.counties] : [];
  const prices = (req.options?.prices ?? false) || mode === 'FULL' || syncType === 'PRICES';
  const recheckImages = req.options?.recheckImages ?? false;
  if (recheckImages && req.options?.images === false) {
    throw new RequestError('options.recheck_images', 'recheck_images revalidates the run\'s images, but images is false; drop one of the two');
  }
  // images: on by default in FULL runs only (a price or stock sweep does not revalidate every image)
  const images = recheckImages || (req.options?.images ?? (mode === 'FULL' && defaults.imagesInFull !== false));
  const options: RunOptionsJson = { prices, stock, counties, dryRun: req.options?.dryRun ?? false, images, ...(recheckImages && { recheckImages }) };
  const scope: RunScopeJson = { codes, category, brand, limit };
  const startedBy = (req.startedBy ?? '').trim().slice(0, 200) || 'unknown';
  const kind = runKind({ syncType, mode, scope, options });
  return { syncType, mode, trigger, scope, options, startedBy, kind };
}

/**
 * Runs of the same kind never overlap: every unscoped FULL is one kind (one FULL at a time);
 * unscoped incremental runs are one kind per sync type; a scoped run's kind includes its scope and
 * options, so the same manual request twice answers the first. Dry runs are their own kinds.
 */
export function runKind(r: { syncType: string; mode: string; scope: RunScopeJson; options: RunOptionsJson }): string {
  const scoped = r.scope.codes.length > 0 || r.scope.category !== '' || r.scope.brand !== '' || r.scope.limit > 0;
  let kind = r.mode === 'FULL' && !scoped ? 'FULL' : `${r.mode}:${r.syncType}`;
  // an unscoped FULL is one kind whatever its options (stock or not): one FULL at a time
  if (scoped || (r.options.stock && kind !== 'FULL')) {
    const digest = createHash('sha1')
      .update(JSON.stringify({ s: r.scope, o: { p: r.options.prices, s: r.options.stock, c: r.options.counties, ...(r.options.images ? { i: true } : {}), ...(r.options.recheckImages ? { r: true } : {}) } }))
      .digest('hex')
      .slice(0, 16);
    kind += `:${digest}`;
  }
  return r.options.dryRun ? `${kind}:dry` : kind;
}
