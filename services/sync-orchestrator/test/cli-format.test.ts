// What the CLI prints: the summary, progress lines, JSON (pure).
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { catalog, sync } from '@haier-sync/contracts';
import { humanDuration, progressLine, runJson, runSummary, runsTable } from '../src/cli/format';
import { changeLine, failureLine } from '../src/cli/follow';
import { createProgress } from '../src/cli/progress';

function run(patch: Omit<MessageInitShape<typeof sync.RunSchema>, '$typeName'> = {}): sync.Run {
  return create(sync.RunSchema, {
    id: 'r42',
    syncType: sync.SyncType.PRODUCTS,
    mode: sync.RunMode.FULL,
    status: sync.RunStatus.PARTIAL,
    trigger: sync.RunTrigger.MANUAL,
    startedBy: 'cli:ana@box',
    scope: {},
    options: { prices: true },
    counts: { total: 120n, succeeded: 118n, failed: 2n, created: 100n, updated: 10n, unchanged: 8n, batchesTotal: 6n, batchesDone: 3n, upstreamCalls: 13n },
    startedAt: timestampFromDate(new Date('2026-11-25T10:00:00Z')),
    completedAt: timestampFromDate(new Date('2026-11-25T10:00:12Z')),
    duration: durationFromMs(12_345),
    failedItems: [
      { productCode: 'BAD1', reason: 'Haier answered 500 three times' },
      { productCode: 'BAD2', reason: 'malformed row: supplyPrice "abc" is not a decimal' },
    ],
    ...patch,
  });
}

describe('cli output', () => {
  it('the summary has every count, the duration, the calls and each failure with its reason', () => {
    const text = runSummary(run());
    expect(text).toContain('run r42 FULL PRODUCTS (MANUAL by cli:ana@box): whole catalog, prices');
    expect(text).toMatch(/status\s+PARTIAL: some products failed/);
    for (const [k, v] of [['total', '120'], ['created', '100'], ['updated', '10'], ['unchanged', '8'], ['failed', '2'], ['duration', '12.3 s'], ['Haier calls', '13']])
      expect(text).toMatch(new RegExp(`\\n  ${k}\\s+${v}\\n`));
    expect(text).toContain('✗ BAD1  Haier answered 500 three times');
    expect(text).toContain('✗ BAD2  malformed row');
  });

  it('dry runs say "would" and list the planned changes', () => {
    const text = runSummary(run({ status: sync.RunStatus.SUCCESS, options: { dryRun: true }, failedItems: [], plannedChanges: ['create A1', 'update B2: supplyPrice 10.00 -> 11.00'] }));
    expect(text).toContain('SUCCESS (dry run: nothing was written)');
    expect(text).toMatch(/would create\s+100/);
    expect(text).toContain('  update B2: supplyPrice 10.00 -> 11.00');
  });

  it('JSON is the proto3 mapping, with enum names and 64-bit counts as strings', () => {
    const j = JSON.parse(JSON.stringify(runJson(run()))) as Record<string, any>;
    expect(j['status']).toBe('RUN_STATUS_PARTIAL');
    expect(j['counts']['created']).toBe('100');
    expect(j['failedItems']).toHaveLength(2);
    expect(j['duration']).toBe('12.345s');
  });

  it('progress lines and tables', () => {
    expect(progressLine(run({ status: sync.RunStatus.PROCESSING }), 4200)).toBe(
      '[4.2 s] PROCESSING 50% batches 3/6 | products 120: 100 created, 10 updated, 8 unchanged, 2 failed | Haier calls 13',
    );
    expect(humanDuration(245_000)).toBe('4 min 05 s');
    const t = runsTable([run()]);
    expect(t.split('\n')[0]).toMatch(/^ID\s+STATUS\s+MODE/);
    expect(t).toContain('r42 ');
  });

  it('verbose lines read like the old command', () => {
    const change = create(catalog.ChangeSchema, {
      productCode: 'GA0SZC00U',
      kind: catalog.ChangeKind.PRICE_CHANGED,
      fields: [{ field: 'supply_price', before: '"10.00"', after: '"11.00"' }],
      product: { name: 'Fridge 520L', productCode: 'GA0SZC00U' },
    });
    expect(changeLine(change)).toBe('✓ Fridge 520L (GA0SZC00U) price changed: supply_price');
    expect(failureLine({ productCode: 'X', reason: 'timeout' } as sync.FailedItem)).toBe('✗ X: timeout');
  });

  it('plain progress prints on status changes and at most every 5 s, and the last state at the end', () => {
    const err: string[] = [];
    const out: string[] = [];
    let t = 0;
    const view = createProgress('lines', { out: { write: (s: string) => out.push(s) } as never, err: { write: (s: string) => err.push(s) } as never }, () => t);
    const c = (done: bigint) => ({ batchesTotal: 10n, batchesDone: done, total: 200n });
    view.update(run({ status: sync.RunStatus.PROCESSING, counts: c(1n) }));
    t = 1000;
    view.update(run({ status: sync.RunStatus.PROCESSING, counts: c(2n) }));
    t = 6000;
    view.update(run({ status: sync.RunStatus.PROCESSING, counts: c(3n) }));
    t = 7000;
    view.update(run({ status: sync.RunStatus.PROCESSING, counts: c(4n) }));
    view.line('✓ x');
    view.stop();
    expect(err).toHaveLength(3);
    expect(err[0]).toContain('batches 1/10');
    expect(err[1]).toContain('batches 3/10');
    expect(err[2]).toContain('batches 4/10');
    expect(out).toEqual(['✓ x\n']);
  });
});

describe('cli progress bar (terminal)', () => {
  it('draws the bar with batches and counts on stderr, and verbose lines above it', () => {
    const chunks: string[] = [];
    const err = { isTTY: true, columns: 160, write: (s: string) => (chunks.push(String(s)), true), on: () => err, once: () => err, removeListener: () => err } as unknown as NodeJS.WritableStream;
    const out = { isTTY: true, write: (s: string) => (chunks.push(String(s)), true) } as unknown as NodeJS.WritableStream;
    const view = createProgress('bar', { out, err });
    view.update(run({ status: sync.RunStatus.PROCESSING, failedItems: [] }));
    view.line('✓ Fridge (A1) created');
    view.update(run({ status: sync.RunStatus.SUCCESS, counts: { batchesTotal: 6n, batchesDone: 6n, created: 120n }, failedItems: [] }));
    view.stop();
    const text = chunks.join('');
    expect(text).toContain('✓ Fridge (A1) created');
    expect(text.indexOf('✓ Fridge (A1) created')).toBeLessThan(text.lastIndexOf('SUCCESS'));
    expect(text).toMatch(/SUCCESS +\[[█░]+\] 100% \| batches 6\/6 \| 120 new, 0 upd, 0 same, 0 failed \| 0 calls/);
  });
});
