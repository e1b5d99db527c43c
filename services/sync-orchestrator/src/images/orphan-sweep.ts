// The image orphan sweep (issue 15 item 6): a scheduled job that lists the image store, asks the
// catalog which keys products still reference (ImageKeysInUse, 1,000 keys a call), and deletes the
// objects no product references that are older than the grace period (by the object's modified
// time: a key the gateway has just written for a batch whose UpsertImages is still to come is
// young, so it is never swept). Dry run (SYNC_IMAGE_ORPHAN_DRY_RUN, default true) counts and
// logs what it would delete and deletes nothing. Counts go to a log line and the job's answer
// (run-now prints it).
import type { Client } from '@connectrpc/connect';
import type { catalog } from '@haier-sync/contracts';
import { redact, type Logger } from '@haier-sync/runtime';
import type { ImageObject, ImageStore } from '@haier-sync/runtime/image-store';
import { parseCron } from '../schedule/cron';
import type { ScheduledJob } from '../schedule/registry';

export const KEYS_PER_CALL = 1000;
export const DEFAULT_ORPHAN_CRON = '30 4 * * *';
export const DEFAULT_ORPHAN_GRACE_MS = 7 * 86_400_000;

export interface SweepOptions {
  store: ImageStore;
  catalog: Pick<Client<typeof catalog.CatalogService>, 'imageKeysInUse'>;
  graceMs: number;
  dryRun: boolean;
  logger?: Logger;
  now?: () => Date;
}

export interface SweepReport {
  dryRun: boolean;
  /** Objects in the store. */
  found: number;
  /** Of those, keys some product references. */
  referenced: number;
  /** Unreferenced and older than the grace period. */
  orphaned: number;
  /** Unreferenced but younger than the grace period (kept for now). */
  young: number;
  deleted: number;
  /** Bytes of the orphaned objects (deleted, or that a real sweep would delete). */
  bytes: number;
  /** Deletes that failed (the next sweep tries again). */
  failed: number;
}

/** One sweep over the whole store. */
export async function sweepOrphans(o: SweepOptions): Promise<SweepReport> {
  const cutoff = (o.now?.() ?? new Date()).getTime() - o.graceMs;
  const r: SweepReport = { dryRun: o.dryRun, found: 0, referenced: 0, orphaned: 0, young: 0, deleted: 0, bytes: 0, failed: 0 };
  let chunk: ImageObject[] = [];
  const settle = async (objects: ImageObject[]): Promise<void> => {
    const inUse = new Set((await o.catalog.imageKeysInUse({ storageKeys: objects.map((x) => x.key) }, { timeoutMs: 60_000 })).storageKeys);
    for (const obj of objects) {
      if (inUse.has(obj.key)) {
        r.referenced++;
        continue;
      }
      if (obj.modifiedAt.getTime() > cutoff) {
        r.young++;
        continue;
      }
      r.orphaned++;
      r.bytes += obj.bytes;
      if (o.dryRun) continue;
      try {
        await o.store.delete(obj.key);
        r.deleted++;
      } catch (err) {
        r.failed++;
        o.logger?.warn({ key: obj.key, err: redact(String(err)) }, 'could not delete an orphaned image; the next sweep tries again');
      }
    }
  };
  for await (const obj of o.store.list()) {
    r.found++;
    chunk.push(obj);
    if (chunk.length === KEYS_PER_CALL) {
      await settle(chunk);
      chunk = [];
    }
  }
  if (chunk.length) await settle(chunk);
  return r;
}

export function sweepMessage(r: SweepReport, graceMs: number): string {
  const days = graceMs / 86_400_000;
  const grace = Number.isInteger(days) ? `${days}d` : `${Math.round(graceMs / 1000)}s`;
  const what = r.dryRun ? `${r.orphaned} would be deleted (dry run: SYNC_IMAGE_ORPHAN_DRY_RUN=false deletes them)` : `${r.deleted} deleted${r.failed ? `, ${r.failed} could not be deleted` : ''}`;
  return `image orphan sweep: ${r.found} objects in the store, ${r.referenced} referenced, ${r.orphaned} orphaned older than ${grace} (${r.bytes} bytes), ${r.young} unreferenced but younger; ${what}`;
}

export interface OrphanJobOptions extends Omit<SweepOptions, 'now'> {
  /** SYNC_IMAGE_ORPHAN_CRON: null switches the job off. */
  cron: string | null;
}

/** The sweep as a scheduled job (listed, paused and run-now like the built-in ones). */
export function orphanSweepJob(o: OrphanJobOptions): ScheduledJob {
  if (o.cron !== null) parseCron('SYNC_IMAGE_ORPHAN_CRON', o.cron).stop();
  return {
    name: 'image_orphans',
    kind: 'cron',
    description: `removes images no product references that are older than SYNC_IMAGE_ORPHAN_GRACE${o.dryRun ? ' (dry run: counts only, SYNC_IMAGE_ORPHAN_DRY_RUN)' : ''}`,
    variable: 'SYNC_IMAGE_ORPHAN_CRON',
    cron: o.cron,
    async run({ by }) {
      const r = await sweepOrphans(o);
      const message = sweepMessage(r, o.graceMs);
      o.logger?.info({ job: 'image_orphans', by, ...r }, message);
      return { message };
    },
  };
}
