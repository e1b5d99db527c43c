// The publisher's pure parts: a leader's term, gap handling, naming, stream settings, message mapping.
import { create, fromBinary } from '@bufbuild/protobuf';
import { catalog, events } from '@haier-sync/contracts';
import { nanos } from 'nats';
import { contiguousCount, type GapState } from '../src/events/gap';
import { leadershipTerm } from '../src/events/leadership';
import { changeToMessages, stockLowOf } from '../src/events/messages';
import { firstMissing } from '../src/events/sources';
import { desiredConfig } from '../src/events/streams';
import { normalisePrefix, productKey, productsBucket, productSubject, runSubject, streamName, streamSpecs } from '../src/events/subjects';

describe('leadership term', () => {
  const never = new Promise<void>(() => undefined);

  test('already over when stop came while the lock was being taken', () => {
    const stop = new AbortController();
    stop.abort();
    expect(leadershipTerm(stop.signal, never).signal.aborted).toBe(true);
  });

  test('ends on stop, or when the lock is lost; disposed, it no longer follows stop', async () => {
    const stop = new AbortController();
    const t = leadershipTerm(stop.signal, never);
    expect(t.signal.aborted).toBe(false);
    stop.abort();
    expect(t.signal.aborted).toBe(true);

    let lose!: () => void;
    const lost = new Promise<void>((r) => (lose = r));
    const t2 = leadershipTerm(new AbortController().signal, lost);
    lose();
    await lost;
    expect(t2.signal.aborted).toBe(true);

    const stop3 = new AbortController();
    const t3 = leadershipTerm(stop3.signal, never);
    t3.dispose();
    stop3.abort();
    expect(t3.signal.aborted).toBe(false);
  });
});

describe('gaps', () => {
  test('takes the contiguous run after the cursor', () => {
    const st: GapState = {};
    expect(contiguousCount(10n, [11n, 12n, 13n], st, 0, 1000)).toBe(3);
    expect(contiguousCount(10n, [], st, 0, 1000)).toBe(0);
  });

  test('waits for a hole, then moves past it after the wait; a new hole waits again', () => {
    const st: GapState = {};
    expect(contiguousCount(10n, [11n, 13n, 14n], st, 1000, 500)).toBe(1);
    expect(st.missing).toBe(12n);
    expect(contiguousCount(11n, [13n, 14n], st, 1400, 500)).toBe(0);
    expect(contiguousCount(11n, [13n, 14n], st, 1500, 500)).toBe(2);
    expect(contiguousCount(14n, [16n], st, 1500, 500)).toBe(0);
    expect(st.missing).toBe(15n);
  });

  test('a per-hole wait: 0 passes at once, Infinity never', () => {
    expect(contiguousCount(0n, [2n], {}, 0, (m) => (m === 1n ? 0 : Infinity))).toBe(1);
    expect(contiguousCount(0n, [2n], {}, 1e12, () => Number.POSITIVE_INFINITY)).toBe(0);
  });

  test('firstMissing', () => {
    expect(firstMissing(0n, [1n, 2n, 3n])).toBeUndefined();
    expect(firstMissing(0n, [2n])).toBe(1n);
    expect(firstMissing(5n, [6n, 8n])).toBe(7n);
    expect(firstMissing(5n, [])).toBeUndefined();
  });
});

describe('naming', () => {
  test('prefixes, stream names and subjects', () => {
    expect(normalisePrefix(undefined)).toBe('');
    expect(normalisePrefix('t_x7')).toBe('t_x7.');
    expect(normalisePrefix('t_x7.')).toBe('t_x7.');
    expect(streamName('', 'CATALOG')).toBe('CATALOG');
    expect(streamName('t_x7.', 'SYNC')).toBe('T_X7_SYNC');
    expect(streamSpecs('')).toEqual({ catalog: { name: 'CATALOG', subjects: ['catalog.product.*', 'catalog.stock.low'] }, sync: { name: 'SYNC', subjects: ['sync.run.*'] } });
    expect(productSubject('', catalog.ChangeKind.RELISTED)).toBe('catalog.product.relisted');
    expect(productSubject('p.', catalog.ChangeKind.PRICE_CHANGED)).toBe('p.catalog.product.price_changed');
    expect(productSubject('', catalog.ChangeKind.UNSPECIFIED)).toBeUndefined();
    expect(runSubject('p.', 'sync.run.started')).toBe('p.sync.run.started');
    expect(runSubject('p.', 'failed')).toBe('p.sync.run.failed');
    expect(runSubject('p.', 'p.sync.run.progress')).toBe('p.sync.run.progress');
  });

  test('the dedupe window never exceeds the age limit (NATS refuses that)', () => {
    const spec = streamSpecs('').catalog;
    expect(desiredConfig(spec, { prefix: '', duplicateWindowS: 600, maxAgeH: 168, maxBytes: -1 }).duplicate_window).toBe(nanos(600_000));
    const capped = desiredConfig(spec, { prefix: '', duplicateWindowS: 7200, maxAgeH: 1, maxBytes: -1 });
    expect(capped.duplicate_window).toBe(nanos(3_600_000));
    expect(capped.max_age).toBe(nanos(3_600_000));
    expect(desiredConfig(spec, { prefix: '', duplicateWindowS: 60, maxAgeH: 0, maxBytes: 5 })).toMatchObject({ max_age: 0, max_bytes: 5 });
  });
});

describe('messages', () => {
  const change = (kind: catalog.ChangeKind, stock?: bigint) =>
    create(catalog.ChangeSchema, {
      seq: 7n,
      productCode: 'GA0SZC00U',
      version: 3n,
      kind,
      runId: 'r1',
      product: create(catalog.ProductSchema, { productCode: 'GA0SZC00U', ...(stock !== undefined ? { stock } : {}), countyStock: [{ countyCode: '110101', quantity: stock ?? 0n }] }),
    });

  test('a change becomes one ProductChanged with msg id code:version, on its subject and as the product\'s bucket value', () => {
    const [m, kv, ...rest] = changeToMessages(change(catalog.ChangeKind.UPDATED), '', { threshold: 5 });
    expect(rest).toHaveLength(0);
    expect(kv).toEqual({ ...m, subject: '$KV.CATALOG_PRODUCTS.GA0SZC00U' });
    // already in the bucket (a replay): the stream only
    expect(changeToMessages(change(catalog.ChangeKind.UPDATED), 't_x7.', { threshold: 5 }, false).map((x) => x.subject)).toEqual(['t_x7.catalog.product.updated']);
    expect(m!.subject).toBe('catalog.product.updated');
    expect(m!.msgId).toBe('GA0SZC00U:3');
    const ev = fromBinary(events.ProductChangedSchema, m!.data);
    expect(ev).toMatchObject({ seq: 7n, productCode: 'GA0SZC00U', version: 3n, runId: 'r1' });
  });

  test('a stock change below the threshold adds catalog.stock.low; at or above it does not', () => {
    const low = changeToMessages(change(catalog.ChangeKind.STOCK_CHANGED, 4n), '', { threshold: 5, defaultCounty: '110101' });
    expect(low.map((m) => m.subject)).toEqual(['catalog.product.stock_changed', '$KV.CATALOG_PRODUCTS.GA0SZC00U', 'catalog.stock.low']);
    expect(low[2]!.msgId).toBe('GA0SZC00U:3:low');
    expect(fromBinary(events.StockLowSchema, low[2]!.data)).toMatchObject({ quantity: 4n, threshold: 5n, countyCode: '110101' });
    expect(changeToMessages(change(catalog.ChangeKind.STOCK_CHANGED, 5n), '', { threshold: 5 })).toHaveLength(2);
    expect(stockLowOf(change(catalog.ChangeKind.PRICE_CHANGED, 0n), { threshold: 5 })).toBeUndefined();
  });

  test('bucket keys: a code a subject can carry is its own key; any other is "=" + base64url', () => {
    expect(productKey('GA0SZC00U')).toBe('GA0SZC00U');
    expect(productKey('BH0.Z5-A_0')).toBe('BH0.Z5-A_0');
    expect(productKey('A..B')).toBe(`=${Buffer.from('A..B').toString('base64url')}`);
    expect(productKey('A.')).toMatch(/^=[A-Za-z0-9_-]+$/);
    expect(productsBucket('t_x7.')).toBe('T_X7_CATALOG_PRODUCTS');
  });
});
