// The images option and the pure pieces of the image step and the orphan sweep.
import { PassThrough } from 'node:stream';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { catalog, gateway, sync } from '@haier-sync/contracts';
import { buildStartRun } from '../src/cli/options';
import { CliContext } from '../src/cli/context';
import { buildProgram } from '../src/cli/program';
import { runHeadline } from '../src/cli/format';
import { imagesSummary, isRecent, recheckWindowMs, wantedImages } from '../src/runs/images';
import { emptyOutcome } from '../src/runs/item-outcomes';
import { summaryMessage } from '../src/runs/outcome';
import { normaliseStartRun, RequestError, runKind } from '../src/runs/request';
import { batchLines, endpointOfReason } from '../src/runs/run-log';
import { sweepMessage } from '../src/images/orphan-sweep';

const req = (init: Parameters<typeof create<typeof sync.StartRunRequestSchema>>[1]) => create(sync.StartRunRequestSchema, init);
const defaults = { counties: ['110101'] };

describe('the images run option', () => {
  test('on by default in FULL runs, off in every other run; a request decides when it says', () => {
    expect(normaliseStartRun(req({ mode: sync.RunMode.FULL }), defaults).options.images).toBe(true);
    expect(normaliseStartRun(req({}), defaults).options.images).toBe(true); // no scope: FULL
    expect(normaliseStartRun(req({ syncType: sync.SyncType.PRICES, mode: sync.RunMode.INCREMENTAL }), defaults).options.images).toBe(false);
    expect(normaliseStartRun(req({ scope: { productCodes: ['GA0SZC00U'] } }), defaults).options.images).toBe(false);
    expect(normaliseStartRun(req({ mode: sync.RunMode.FULL, options: { images: false } }), defaults).options.images).toBe(false);
    expect(normaliseStartRun(req({ scope: { productCodes: ['GA0SZC00U'] }, options: { images: true } }), defaults).options.images).toBe(true);
  });

  test('SYNC_IMAGES_IN_FULL=false turns the FULL default off, not an explicit ask', () => {
    const off = { ...defaults, imagesInFull: false };
    expect(normaliseStartRun(req({ mode: sync.RunMode.FULL }), off).options.images).toBe(false);
    expect(normaliseStartRun(req({ mode: sync.RunMode.FULL, options: { images: true } }), off).options.images).toBe(true);
  });

  test('recheck_images implies images; asked with images false it is refused', () => {
    const r = normaliseStartRun(req({ syncType: sync.SyncType.PRICES, mode: sync.RunMode.INCREMENTAL, options: { recheckImages: true } }), defaults).options;
    expect(r).toMatchObject({ images: true, recheckImages: true });
    expect(normaliseStartRun(req({ mode: sync.RunMode.FULL }), defaults).options.recheckImages).toBeUndefined();
    expect(() => normaliseStartRun(req({ mode: sync.RunMode.FULL, options: { images: false, recheckImages: true } }), defaults)).toThrow(RequestError);
  });

  test('a scoped run with images is its own kind; every unscoped FULL stays one kind', () => {
    const a = normaliseStartRun(req({ scope: { productCodes: ['GA0SZC00U'] } }), defaults);
    const b = normaliseStartRun(req({ scope: { productCodes: ['GA0SZC00U'] }, options: { images: true } }), defaults);
    expect(a.kind).not.toBe(b.kind);
    expect(runKind({ ...normaliseStartRun(req({ mode: sync.RunMode.FULL, options: { images: false } }), defaults) })).toBe('FULL');
  });

  test('the CLI: --images and --no-images reach the request; neither leaves it to the service', () => {
    const sink = new PassThrough();
    const flags = (args: string[]) => {
      const cmd = buildProgram(new CliContext({ out: sink, err: sink, env: {} })).commands.find((c) => c.name() === 'sync')!;
      cmd.parseOptions(args);
      return buildStartRun(cmd.opts(), 'test').options?.images;
    };
    expect(flags(['--no-images'])).toBe(false);
    expect(flags(['--images'])).toBe(true);
    expect(flags([])).toBeUndefined();
    const recheck = (args: string[]) => {
      const cmd = buildProgram(new CliContext({ out: sink, err: sink, env: {} })).commands.find((c) => c.name() === 'sync')!;
      cmd.parseOptions(args);
      return buildStartRun(cmd.opts(), 'test').options?.recheckImages;
    };
    expect(recheck(['--recheck-images'])).toBe(true);
    expect(recheck([])).toBe(false);
    expect(() => recheck(['--recheck-images', '--no-images'])).toThrow(/pick one/);
  });

  test("the CLI's headline names images when the run mirrors them", () => {
    const run = create(sync.RunSchema, { id: '7', mode: sync.RunMode.FULL, syncType: sync.SyncType.PRODUCTS, trigger: sync.RunTrigger.MANUAL, startedBy: 'cli:ana', options: { prices: true, images: true } });
    expect(runHeadline(run)).toMatch(/: whole catalog, prices, images$/);
  });
});

describe('the image step', () => {
  test('a product wants its main image (position 0) and every page (1..n); an empty URL is none', () => {
    const p = (code: string, main: string, pages: string[]) => create(gateway.ProductSchema, { productCode: code, productImageUrl: main, productPageUrls: pages });
    expect(wantedImages([p('A', 'http://h/a.png', ['http://h/a1.png', 'http://h/a2.png']), p('B', '', ['http://h/b1.png'])])).toEqual([
      { code: 'A', position: 0, url: 'http://h/a.png' },
      { code: 'A', position: 1, url: 'http://h/a1.png' },
      { code: 'A', position: 2, url: 'http://h/a2.png' },
      { code: 'B', position: 1, url: 'http://h/b1.png' },
    ]);
  });

  test('failed images are WARNING lines of the run log, the product itself a SUCCESS line', () => {
    const o = emptyOutcome();
    o.items['A'] = 'unchanged';
    o.images = { counts: { stored: 0, unchanged: 1, recent: 0, failed: 1, bytes: 0, productsChanged: 0 }, lines: [{ level: 'WARNING', code: 'A', endpoint: 'images', attempt: 1, message: 'image 1 of A: HTTP 404' }] };
    const lines = batchLines(['A'], o, 1, false);
    expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual(['SUCCESS A unchanged', 'WARNING image 1 of A: HTTP 404']);
    expect(endpointOfReason('images of A not recorded: x')).toBe('images');
  });

  test("the run's summary says what images did", () => {
    const t = { total: 2, succeeded: 2, failed: 0, created: 0, updated: 1, unchanged: 1, delisted: 0, upstreamCalls: 2 };
    const images = { stored: 3, unchanged: 5, recent: 4, failed: 1, bytes: 3 * 1_048_576, productsChanged: 1 };
    const part = 'images: 3 downloaded (3.0 MB), 5 unchanged (304), 4 not due (checked within SYNC_IMAGE_RECHECK_AFTER), 1 failed, 1 products with image changes';
    expect(imagesSummary(images)).toBe(part);
    expect(summaryMessage('FULL PRODUCTS run 1', t, 'SUCCESS', { dryRun: false, images })).toBe(
      `FULL PRODUCTS run 1 completed: 2 products, 0 created, 1 updated, 1 unchanged, 0 failed; 2 calls to Haier; ${part} (failed images are listed as warnings in the run log; their products synced)`,
    );
  });

  describe('which products are due (SYNC_IMAGE_RECHECK_AFTER)', () => {
    const DAY = 86_400_000;
    const now = Date.UTC(2026, 11, 3);
    const wanted = [
      { code: 'A', position: 0, url: 'http://h/a.png' },
      { code: 'A', position: 1, url: 'http://h/a1.png' },
    ];
    const rec = (position: number, url: string, checkedAgoMs: number, extra: { status?: catalog.ImageStatus; failure?: string; sha256?: string } = {}) =>
      create(catalog.ImageRecordSchema, { productCode: 'A', position, sourceUrl: url, status: catalog.ImageStatus.STORED, sha256: 'ab'.repeat(32), checkedAt: timestampFromMs(now - checkedAgoMs), ...extra });
    const policy = { afterMs: 7 * DAY, all: false, now: () => now };
    const held = [rec(0, 'http://h/a.png', DAY), rec(1, 'http://h/a1.png', 2 * DAY)];

    test('checked within the window with the same URLs: left alone', () => {
      expect(isRecent('A', wanted, held, policy)).toBe(true);
    });
    test('recheck_images, or a window of 0: due', () => {
      expect(isRecent('A', wanted, held, { ...policy, all: true })).toBe(false);
      expect(isRecent('A', wanted, held, { ...policy, afterMs: 0 })).toBe(false);
    });
    test('a changed URL list (a moved, added or dropped image) makes the product due', () => {
      expect(isRecent('A', [wanted[0]!, { ...wanted[1]!, url: 'http://h/a1.png?v=2' }], held, policy)).toBe(false);
      expect(isRecent('A', [...wanted, { code: 'A', position: 2, url: 'http://h/a2.png' }], held, policy)).toBe(false);
      expect(isRecent('A', [wanted[0]!], held, policy)).toBe(false);
    });
    test('a failed image, a missing copy, or the oldest check past the window: due', () => {
      expect(isRecent('A', wanted, [held[0]!, rec(1, 'http://h/a1.png', DAY, { status: catalog.ImageStatus.FAILED, failure: 'HTTP 404' })], policy)).toBe(false);
      expect(isRecent('A', wanted, [held[0]!, rec(1, 'http://h/a1.png', DAY, { sha256: '' })], policy)).toBe(false);
      expect(isRecent('A', wanted, [held[0]!, rec(1, 'http://h/a1.png', 7 * DAY)], policy)).toBe(false);
    });
    test("each product's window is between half and all of the setting, fixed by its code (revalidation spreads over runs)", () => {
      const windows = Array.from({ length: 200 }, (_, i) => recheckWindowMs(`GA0SZC${String(i).padStart(3, '0')}`, 7 * DAY));
      expect(Math.min(...windows)).toBeGreaterThanOrEqual(3.5 * DAY);
      expect(Math.max(...windows)).toBeLessThanOrEqual(7 * DAY);
      expect(new Set(windows.map((w) => Math.floor(w / DAY))).size).toBeGreaterThanOrEqual(3);
      expect(recheckWindowMs('GA0SZC001', 7 * DAY)).toBe(recheckWindowMs('GA0SZC001', 7 * DAY));
    });
  });

  test("the orphan sweep's report", () => {
    expect(sweepMessage({ dryRun: true, found: 10, referenced: 7, orphaned: 2, young: 1, deleted: 0, bytes: 500, failed: 0 }, 7 * 86_400_000)).toBe(
      'image orphan sweep: 10 objects in the store, 7 referenced, 2 orphaned older than 7d (500 bytes), 1 unreferenced but younger; 2 would be deleted (dry run: SYNC_IMAGE_ORPHAN_DRY_RUN=false deletes them)',
    );
    expect(sweepMessage({ dryRun: false, found: 10, referenced: 7, orphaned: 2, young: 1, deleted: 2, bytes: 500, failed: 0 }, 3_600_000)).toMatch(/older than 3600s .*; 2 deleted$/);
  });
});
