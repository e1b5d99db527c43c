// The subscriber's bootstrap: the products bucket (NATS KV, one value per product, kept by the
// publisher in step with the change log). A subscriber that starts while a run is writing gets
// the whole catalog, then every later change, each once; a publisher killed mid-stream and
// started again leaves the bucket equal to the catalog without rewriting a value.
import { fromBinary } from '@bufbuild/protobuf';
import { catalog, events, sync } from '@haier-sync/contracts';
import { waitFor } from '@haier-sync/runtime/testing';
import { nanos, type KV, type NatsConnection } from 'nats';
import { bucketStream } from '../src/events/streams';
import { productsBucket } from '../src/events/subjects';
import { count, runToEnd, startStack, statusName, waitForRun, type Stack } from './stack';

jest.setTimeout(240_000);

interface Seen {
  /** code -> the latest ProductChanged delivered */
  state: Map<string, events.ProductChanged>;
  /** `code:version` of every value delivered, in order */
  delivered: string[];
  /** the bucket stream sequence of the last value applied */
  lastRevision: number;
  /** deliveries of a revision already applied (the client's watch starting over after a reset) */
  redelivered: number;
  stop(): void;
}

/** A subscriber as docs/events.md describes it: watch the bucket; the catalog first, then updates. */
async function subscribe(kv: KV): Promise<Seen & { initialised: Promise<void> }> {
  let markInitialised!: () => void;
  const initialised = new Promise<void>((resolve) => (markInitialised = resolve));
  const seen: Seen = { state: new Map(), delivered: [], lastRevision: 0, redelivered: 0, stop: () => undefined };
  const watch = await kv.watch({
    key: '>',
    initializedFn: () => markInitialised(),
  });
  seen.stop = () => watch.stop();
  void (async () => {
    for await (const e of watch) {
      // revisions arrive in ascending order; one at or below the last applied is a redelivery
      // (nats.js re-creates the watch's consumer after missed heartbeats), as docs/events.md says
      if (e.revision <= seen.lastRevision) {
        seen.redelivered++;
        continue;
      }
      const ev = fromBinary(events.ProductChangedSchema, e.value);
      seen.delivered.push(`${ev.productCode}:${ev.version}`);
      seen.state.set(ev.productCode, ev);
      seen.lastRevision = e.revision;
    }
  })();
  return Object.assign(seen, { initialised });
}

async function catalogVersions(stack: Stack): Promise<Map<string, { version: string; supply: string | null; delisted: boolean }>> {
  const r = await stack.pg.query<{ code: string; version: string; supply: string | null; delisted: boolean }>(
    'select code, version::text as version, supply_price::text as supply, delisted_at is not null as delisted from catalog.product',
  );
  return new Map(r.rows.map((x) => [x.code, x]));
}

async function bucketLastSeq(nc: NatsConnection, prefix: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.info(bucketStream(productsBucket(prefix))).catch(() => undefined))?.state.last_seq ?? 0;
}

/** Waits until the bucket holds a value for every change-log entry. */
async function bucketCaughtUp(stack: Stack, nc: NatsConnection): Promise<number> {
  const changes = await count(stack.pg, 'select count(*) as n from catalog.change_log');
  await waitFor(async () => (await bucketLastSeq(nc, stack.prefix)) >= changes, { timeoutMs: 90_000, intervalMs: 200, what: 'the bucket to hold every change' });
  return changes;
}

function expectEqualToCatalog(state: Map<string, events.ProductChanged>, truth: Awaited<ReturnType<typeof catalogVersions>>): void {
  expect(state.size).toBe(truth.size);
  const wrong: string[] = [];
  for (const [code, t] of truth) {
    const ev = state.get(code);
    const supply = ev?.product?.supplyPrice;
    const same =
      ev !== undefined &&
      ev.version.toString() === t.version &&
      (ev.kind === catalog.ChangeKind.DELISTED) === t.delisted &&
      (t.supply === null ? supply === undefined || supply === '' : Number(supply) === Number(t.supply));
    if (!same) wrong.push(`${code}: bucket v${ev?.version} ${supply} kind ${ev?.kind}, catalog v${t.version} ${t.supply} delisted ${t.delisted}`);
  }
  expect(wrong.slice(0, 10)).toEqual([]);
}

describe('bootstrap from the products bucket', () => {
  let stack: Stack;
  let nc: NatsConnection;
  let kv: KV;
  const SIZE = 5000;

  beforeAll(async () => {
    stack = await startStack({ sim: { size: SIZE, seed: 5, rateLimit: 0 }, env: { SYNC_PUBLISHER_ENABLED: 'true' } });
    nc = await stack.nats();
    const full = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 180_000);
    expect(statusName(full.status)).toBe('SUCCESS');
    await bucketCaughtUp(stack, nc);
    kv = await nc.jetstream().views.kv(productsBucket(stack.prefix), { bindOnly: true });
  }, 240_000);

  afterAll(async () => {
    await stack?.close();
  });

  test('a subscriber started during an incremental run over 5,000 products ends with the catalog, each change seen once', async () => {
    const m = stack.sim.control.mutate({ priceChangeShare: 0.05, seed: 17 });
    expect(m.priceChanged.length).toBeGreaterThan(150);
    const before = await count(stack.pg, 'select count(*) as n from catalog.change_log');
    const started = await stack.sync.startRun({ syncType: sync.SyncType.PRICES, mode: sync.RunMode.INCREMENTAL, startedBy: 'test' });
    // start reading once the run has begun writing, so the initial catalog and the updates overlap
    await waitFor(async () => (await count(stack.pg, 'select count(*) as n from catalog.change_log')) > before, { timeoutMs: 60_000, intervalMs: 20, what: 'the run to write its first change' });
    const sub = await subscribe(kv);
    try {
      await sub.initialised;
      const run = await waitForRun(stack.sync, started.run!.id, 120_000);
      expect(statusName(run.status)).toBe('SUCCESS');
      const changes = await bucketCaughtUp(stack, nc);
      expect(changes - before).toBe(Number(run.counts!.updated));
      const last = await bucketLastSeq(nc, stack.prefix);
      await waitFor(async () => sub.lastRevision >= last, { timeoutMs: 30_000, what: 'the subscriber to reach the end of the bucket' });

      // exactly the catalog: every product, its current version and price
      expectEqualToCatalog(sub.state, await catalogVersions(stack));
      // each change once: no code:version twice, and each product's versions only go up
      expect(new Set(sub.delivered).size).toBe(sub.delivered.length);
      const lastVersion = new Map<string, number>();
      for (const d of sub.delivered) {
        const [code, v] = d.split(':') as [string, string];
        expect(Number(v)).toBeGreaterThan(lastVersion.get(code) ?? 0);
        lastVersion.set(code, Number(v));
      }
      // the catalog came first (one value per product), then the run's changes not in it yet:
      // every delivery after a product's first is one of this run's change-log entries. (Counted
      // from the values, not from initializedFn: nats.js calls it when its own pending count
      // reaches zero, which can be before initial values still queued here, or after the first
      // updates, so a count kept from it is no bound either way.)
      const firsts = new Set<string>();
      const updates: string[] = [];
      for (const d of sub.delivered) {
        const code = d.slice(0, d.lastIndexOf(':'));
        if (firsts.has(code)) updates.push(d);
        else firsts.add(code);
      }
      expect(firsts.size).toBe(SIZE);
      expect(updates.length).toBeGreaterThan(0);
      const runEntries = await stack.pg.query<{ k: string }>(
        "select product_code || ':' || version as k from catalog.change_log where run_id = $1",
        [started.run!.id],
      );
      const ofRun = new Set(runEntries.rows.map((r) => r.k));
      expect(updates.filter((u) => !ofRun.has(u))).toEqual([]);
      // one bucket write per change-log entry, ever: nothing was rewritten
      expect(last).toBe(changes);
    } finally {
      sub.stop();
    }
  });
});

describe('the publisher killed mid-stream', () => {
  let stack: Stack;
  let nc: NatsConnection;
  const SIZE = 2000;

  beforeAll(async () => {
    stack = await startStack({
      orchestrator: 'child',
      sim: { size: SIZE, seed: 23, latencyMs: 60 },
      env: { SYNC_PUBLISHER_ENABLED: 'true', SYNC_CONCURRENCY: '4', SYNC_LEASE_SECONDS: '4' },
    });
    nc = await stack.nats();
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  test('after a kill -9 and a restart the bucket equals the catalog, and no value was written twice or out of order', async () => {
    // a 1 s dedupe window on the bucket, so the restart below comes after it: what keeps the
    // replay from rewriting values is then the publisher's own check, not NATS' dedupe
    const jsm = await nc.jetstreamManager();
    const kvStream = bucketStream(productsBucket(stack.prefix));
    await waitFor(async () => (await jsm.streams.info(kvStream).catch(() => undefined)) !== undefined, { timeoutMs: 30_000, what: 'the publisher to create the bucket' });
    await jsm.streams.update(kvStream, { duplicate_window: nanos(1_000) });
    const started = await stack.sync.startRun({ mode: sync.RunMode.FULL, startedBy: 'test' });
    const id = started.run!.id;
    // kill while values are flowing into the bucket
    await waitFor(async () => (await bucketLastSeq(nc, stack.prefix)) >= 300, { timeoutMs: 90_000, intervalMs: 50, what: '300 values in the bucket' });
    const kv = await nc.jetstream().views.kv(productsBucket(stack.prefix), { bindOnly: true });
    // every value the bucket ever takes, from its first revision (one at a time per key: a
    // rewrite would show up as a second delivery of the same code:version)
    const history: string[] = [];
    const watch = await kv.watch({ key: '>', include: 'history' as never });
    void (async () => {
      let lastRevision = 0;
      for await (const e of watch) {
        if (e.revision <= lastRevision) continue; // the client's watch starting over: the same revision again
        lastRevision = e.revision;
        const ev = fromBinary(events.ProductChangedSchema, e.value);
        history.push(`${ev.productCode}:${ev.version}`);
      }
    })();
    await stack.killChild();
    const atKill = await bucketLastSeq(nc, stack.prefix);
    expect(atKill).toBeLessThan(SIZE);
    await new Promise((r) => setTimeout(r, 1_500)); // past the dedupe window
    try {
      await stack.startChild();
      const run = await waitForRun(stack.sync, id, 180_000);
      expect(statusName(run.status)).toBe('SUCCESS');
      const changes = await bucketCaughtUp(stack, nc);
      const last = await bucketLastSeq(nc, stack.prefix);
      // one write per change: the replay after the restart rewrote nothing
      expect(last).toBe(changes);
      await waitFor(async () => history.length >= last, { timeoutMs: 30_000, what: 'the watcher to see every value' });
      expect(new Set(history).size).toBe(history.length);
      // and the bucket holds the catalog, version for version
      expect((await jsm.streams.info(bucketStream(productsBucket(stack.prefix)))).state.messages).toBe(SIZE);
      const reader = await subscribe(kv);
      await reader.initialised;
      await waitFor(async () => reader.lastRevision >= last, { timeoutMs: 30_000, what: 'the reader to reach the end of the bucket' });
      reader.stop();
      expectEqualToCatalog(reader.state, await catalogVersions(stack));
    } finally {
      watch.stop();
    }
  });
});
