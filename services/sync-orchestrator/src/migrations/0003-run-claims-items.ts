import { Migration } from '@mikro-orm/migrations';

// Honest attempts and counts (see runs/lifecycle.ts and runs/repository/items.ts):
// - a batch's `claims` (every worker that took it, including ones that died) apart from its
//   `attempts` (tries that ran and failed); the same for a run's leased phases (`phase_claims`);
// - `run_items`: one row per run and product code with what happened to it, from which the run's
//   created/updated/unchanged/failed counters move (idempotent across retried batches), and what
//   the catalog wrote for the run as soon as it answered;
// - `stock_changed` and `listing_duplicates` on the run row.
export class Migration0003RunClaimsItems extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table sync.run_batches add column if not exists claims integer not null default 0;`);
    // until now every claim was counted as an attempt: what was counted is claims
    this.addSql(`update sync.run_batches set claims = attempts;`);
    this.addSql(`alter table sync.runs add column if not exists phase_claims integer not null default 0;`);
    this.addSql(`update sync.runs set phase_claims = phase_attempts, phase_attempts = 0 where status in ('PENDING', 'PROCESSING');`);
    this.addSql(`alter table sync.runs add column if not exists stock_changed bigint not null default 0;`);
    this.addSql(`alter table sync.runs add column if not exists listing_duplicates jsonb not null default '[]';`);
    this.addSql(`create table if not exists sync.run_items (
      run_id bigint not null references sync.runs(id) on delete cascade,
      code text not null,
      -- what the run counts for it (null until its batch completes or fails for good)
      outcome text check (outcome in ('created', 'updated', 'unchanged', 'failed')),
      -- what the catalog said it wrote for this run, as soon as it said it (a batch retried after
      -- its write committed hears "unchanged" the second time: this keeps the first answer)
      written text check (written in ('created', 'updated')),
      stock_changed boolean not null default false,
      primary key (run_id, code));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists sync.run_items;`);
    this.addSql(`alter table sync.runs drop column if exists listing_duplicates, drop column if exists stock_changed, drop column if exists phase_claims;`);
    this.addSql(`alter table sync.run_batches drop column if exists claims;`);
  }
}
