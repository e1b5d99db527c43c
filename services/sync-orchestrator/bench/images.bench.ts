// Images in a FULL sync (issue 15): BENCH_PRODUCTS (default 50,000) simulator products with a main
// image and three pages each (~30% distinct content), through the test stack (simulator, the
// built gateway and catalog in their own processes, the orchestrator in this one; a filesystem
// store in a temp directory; the image rate unlimited, HAIER_IMAGE_CONCURRENCY=BENCH_IMAGE_CONCURRENCY,
// default 32). Reports:
//   - the first FULL sync with images: wall time, images, bytes downloaded
//   - bytes stored vs bytes referenced by the catalog (the dedupe ratio: referenced ÷ stored)
//   - change-log rows per product after the first sync (target 1: the product and its images are one change)
//   - the unchanged FULL re-sync within SYNC_IMAGE_RECHECK_AFTER: image requests and bytes (target 0) and wall time
//   - the unchanged FULL re-sync with recheck_images (every image revalidated): bytes (target 0) and wall time
//   - BENCH_BASELINE=1 adds a FULL without images on a fresh stack (what images cost)
// Prints a table; writes bench-results/sync-orchestrator-images-figures.json (from the repo root).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sync } from '@haier-sync/contracts';
import { closeGrpcClients } from '@haier-sync/runtime';
import { imageStoreFromEnv } from '@haier-sync/runtime/image-store';
import { count, runToEnd, startStack, statusName, type Stack } from '../test/stack';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 50_000);
const IMAGE_CONCURRENCY = process.env.BENCH_IMAGE_CONCURRENCY ?? '32';
const BASELINE = process.env.BENCH_BASELINE === '1';
const ROOT = resolve(__dirname, '..', '..', '..');
const MB = 1024 * 1024;
const TIMEOUT = 6 * 3_600_000;

async function stackFor(): Promise<Stack> {
  return startStack({
    sim: { size: PRODUCTS, seed: 15, rateLimit: 0 },
    gatewayEnv: { HAIER_RATE_LIMIT: '1000', HAIER_IMAGE_CONCURRENCY: IMAGE_CONCURRENCY, HAIER_IMAGE_RATE: '0' },
    env: { SYNC_IMAGES_IN_FULL: 'true', SYNC_CONCURRENCY: '16', SYNC_LEASE_SECONDS: '60' },
  });
}

const imageRequests = (stack: Stack): number => Object.values(stack.sim.control.stats().images.byOutcome).reduce((n, x) => n + x, 0);

async function timed(stack: Stack, images: boolean, recheckImages = false): Promise<{ seconds: number; run: sync.Run; bytes: number; requests: number }> {
  const bytes0 = stack.sim.control.stats().images.bytesSent;
  const requests0 = imageRequests(stack);
  const t0 = Date.now();
  const run = await runToEnd(stack, { mode: sync.RunMode.FULL, options: { images, recheckImages }, startedBy: 'bench' }, TIMEOUT);
  const seconds = (Date.now() - t0) / 1000;
  if (statusName(run.status) !== 'SUCCESS') throw new Error(`the run ended ${statusName(run.status)}: ${run.message}`);
  console.error(`  ${images ? (recheckImages ? 'FULL, recheck_images' : 'FULL with images') : 'FULL without images'}: ${seconds.toFixed(1)} s (${run.message})`);
  return { seconds, run, bytes: stack.sim.control.stats().images.bytesSent - bytes0, requests: imageRequests(stack) - requests0 };
}

async function main(): Promise<void> {
  const stack = await stackFor();
  const figures: Record<string, number | string> = { products: PRODUCTS, image_concurrency: IMAGE_CONCURRENCY };
  try {
    const first = await timed(stack, true);
    const images = await count(stack.pg, `select count(*) as n from catalog.product_image where status = 'stored'`);
    const referenced = await count(stack.pg, `select coalesce(sum(bytes), 0) as n from catalog.product_image where status = 'stored'`);
    const distinct = await count(stack.pg, `select count(distinct sha256) as n from catalog.product_image`);
    let stored = 0;
    let objects = 0;
    for await (const o of imageStoreFromEnv({ IMAGE_STORE: 'filesystem', IMAGE_STORE_DIR: stack.imageDir }).list()) {
      stored += o.bytes;
      objects++;
    }
    const rows = await count(stack.pg, `select count(*) as n from catalog.change_log`);
    const products = await count(stack.pg, `select count(*) as n from catalog.product`);
    const again = await timed(stack, true);
    const forced = await timed(stack, true, true);
    Object.assign(figures, {
      change_rows_per_product: rows / Math.max(1, products),
      first_sync_s: first.seconds,
      images,
      images_per_s: Math.round(images / first.seconds),
      first_downloaded_mb: first.bytes / MB,
      objects_stored: objects,
      distinct_sha256: distinct,
      bytes_stored_mb: stored / MB,
      bytes_referenced_mb: referenced / MB,
      dedupe_ratio: referenced / Math.max(1, stored),
      resync_downloaded_bytes: again.bytes,
      resync_image_requests: again.requests,
      resync_s: again.seconds,
      forced_downloaded_bytes: forced.bytes,
      forced_image_requests: forced.requests,
      forced_s: forced.seconds,
      first_message: first.run.message,
      resync_message: again.run.message,
      forced_message: forced.run.message,
    });
  } finally {
    await stack.close();
  }
  if (BASELINE) {
    const s = await stackFor();
    try {
      figures['full_without_images_s'] = (await timed(s, false)).seconds;
    } finally {
      await s.close();
    }
  }
  closeGrpcClients();
  const f = (k: string, digits = 1) => (typeof figures[k] === 'number' ? (figures[k] as number).toFixed(digits) : String(figures[k] ?? '–'));
  const rows: Array<[string, string, string]> = [
    ['products', String(PRODUCTS), ''],
    ['first FULL sync with images', `${f('first_sync_s')} s`, `${figures['images']} images, ${figures['images_per_s']} images/s`],
    ['  downloaded', `${f('first_downloaded_mb')} MB`, ''],
    ['bytes stored', `${f('bytes_stored_mb')} MB`, `${figures['objects_stored']} objects (= ${figures['distinct_sha256']} distinct SHA-256)`],
    ['bytes referenced', `${f('bytes_referenced_mb')} MB`, `dedupe ratio ${f('dedupe_ratio', 2)} (referenced ÷ stored)`],
    ['change-log rows per product', f('change_rows_per_product', 2), 'target 1 (product and images one change)'],
    ['unchanged re-sync (within the window)', `${figures['resync_image_requests']} requests, ${figures['resync_downloaded_bytes']} bytes`, 'target 0'],
    ['  wall time', `${f('resync_s')} s`, ''],
    ['unchanged re-sync, recheck_images', `${figures['forced_image_requests']} requests, ${figures['forced_downloaded_bytes']} bytes`, 'conditional: target 0 bytes'],
    ['  wall time', `${f('forced_s')} s`, ''],
    ...(BASELINE ? [['FULL without images', `${f('full_without_images_s')} s`, 'the same catalog, images off'] as [string, string, string]] : []),
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const v = Math.max(...rows.map((r) => r[1].length));
  console.log(`\nimages in a FULL sync (${PRODUCTS} products, 1 main + 3 pages each)`);
  for (const [k, val, note] of rows) console.log(`  ${k.padEnd(w)}  ${val.padStart(v)}  ${note}`);
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench-results', 'sync-orchestrator-images-figures.json'), JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
