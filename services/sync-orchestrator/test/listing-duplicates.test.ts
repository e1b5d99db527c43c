// A code the listing repeats is planned once, across the chunks of one listing and across a
// re-plan after a crash, does not count towards a scope's limit, and the run's message says how
// many codes were repeated. Pure (plan.ts, outcome.ts).
import { selectListing, type ListingItem } from '../src/runs/plan';
import { summaryMessage } from '../src/runs/outcome';

const item = (code: string, group = 'G', brand = 'B'): ListingItem => ({ productCode: code, productGroupName: group, productBrandName: brand });
const all = { codes: [], category: '', brand: '', limit: 0 };

test('a repeated code is planned once, within a chunk and across chunks of one listing', () => {
  const seen = new Set<string>();
  const a = selectListing([item('A'), item('B'), item('A')], all, new Set(), 0, seen);
  expect(a.selected.map((i) => i.productCode)).toEqual(['A', 'B']);
  expect(a.duplicates).toEqual(['A']);
  const b = selectListing([item('C'), item('B')], all, new Set(), a.taken, seen);
  expect(b.selected.map((i) => i.productCode)).toEqual(['C']);
  expect(b.duplicates).toEqual(['B']);
  expect(b.taken).toBe(3);
});

test('a repeat does not count towards the limit; a re-plan skips what was planned without calling it a repeat', () => {
  const limited = selectListing([item('A'), item('A'), item('B'), item('C')], { ...all, limit: 2 }, new Set(), 0, new Set());
  expect(limited.selected.map((i) => i.productCode)).toEqual(['A', 'B']);
  // the re-plan: A and B were planned before the crash
  const again = selectListing([item('A'), item('B'), item('B'), item('C')], all, new Set(['A', 'B']), 0, new Set());
  expect(again.selected.map((i) => i.productCode)).toEqual(['C']);
  expect(again.duplicates).toEqual(['B']);
});

test("the run's message names the repeated codes and the stock changes", () => {
  const t = { total: 3, succeeded: 3, failed: 0, created: 1, updated: 1, unchanged: 1, delisted: 0, upstreamCalls: 4, stockChanged: 1, duplicates: ['GA0001'] };
  expect(summaryMessage('FULL PRODUCTS run 7', t, 'SUCCESS', { dryRun: false })).toBe(
    'FULL PRODUCTS run 7 completed: 3 products, 1 created, 1 updated, 1 unchanged, 0 failed, 1 with stock changes; 4 calls to Haier; 1 duplicate code in the listing, planned once (GA0001)',
  );
  const many = summaryMessage('r', { ...t, stockChanged: 0, duplicates: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'SUCCESS', { dryRun: false });
  expect(many).toContain('; 6 duplicate codes in the listing, planned once (a, b, c, d, e, …)');
  expect(many).not.toContain('stock changes');
});
