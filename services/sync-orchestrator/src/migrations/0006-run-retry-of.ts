import { Migration } from '@mikro-orm/migrations';

// RetryFailed: a run that retries another run's failed products points at it.
export class Migration0006RunRetryOf extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table sync.runs add column if not exists retry_of bigint references sync.runs(id) on delete set null;`);
    this.addSql(`create index if not exists runs_retry_of on sync.runs (retry_of) where retry_of is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table sync.runs drop column if exists retry_of;`);
  }
}
