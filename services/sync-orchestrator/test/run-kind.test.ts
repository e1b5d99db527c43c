// Which requests count as "the same kind of run" (a second one answers the active run). Pure.
import { runKind } from '../src/runs/request';

const scope = (over = {}) => ({ codes: [] as string[], category: '', brand: '', limit: 0, ...over });
const options = (over = {}) => ({ prices: true, stock: false, counties: [] as string[], dryRun: false, ...over });

it('every unscoped FULL is one kind, with or without stock: one FULL at a time', () => {
  const plain = runKind({ syncType: 'PRODUCTS', mode: 'FULL', scope: scope(), options: options() });
  const withStock = runKind({ syncType: 'PRODUCTS', mode: 'FULL', scope: scope(), options: options({ stock: true, counties: ['110101'] }) });
  expect(plain).toBe('FULL');
  expect(withStock).toBe('FULL');
});

it('scoped runs, incremental stock runs and dry runs are kinds of their own', () => {
  const full = runKind({ syncType: 'PRODUCTS', mode: 'FULL', scope: scope(), options: options() });
  const scoped = runKind({ syncType: 'PRODUCTS', mode: 'FULL', scope: scope({ category: '冰箱' }), options: options() });
  const prices = runKind({ syncType: 'PRICES', mode: 'INCREMENTAL', scope: scope(), options: options() });
  const stock = runKind({ syncType: 'STOCK', mode: 'INCREMENTAL', scope: scope(), options: options({ stock: true, counties: ['110101'] }) });
  const stockElsewhere = runKind({ syncType: 'STOCK', mode: 'INCREMENTAL', scope: scope(), options: options({ stock: true, counties: ['310115'] }) });
  const dry = runKind({ syncType: 'PRODUCTS', mode: 'FULL', scope: scope(), options: options({ dryRun: true }) });
  expect(new Set([full, scoped, prices, stock, stockElsewhere, dry]).size).toBe(6);
  expect(dry).toBe('FULL:dry');
});
