// SQL of schema "sync" for runs, split by aggregate: the run row and its phases (runs.ts), its
// batches (batches.ts), what happened to each of its products (items.ts), and live operations
// recorded as finished runs (operations.ts). Every function takes the knex handle or the
// transaction it must run in; the callers decide what commits together. Conditions on statuses
// and phases come from lifecycle.ts.
export * from './runs';
export * from './batches';
export * from './items';
export * from './operations';
export type { Db } from './sql';
export * from './log';
