import { Migration } from '@mikro-orm/migrations';

// The W3C trace context (`traceparent`) kept with the rows that carry a run's work across
// processes (issue 14: one trace per run):
// - sync.runs: the context of the StartRun call (or of the first planning, for a run no traced
//   call started); the planner, the finaliser and every worker's batch span continue it;
// - sync.run_events: the context of the work that wrote the lifecycle event; the relay's PRODUCER
//   span continues and links to it.
// Nullable, no default: adding them rewrites nothing.
export class Migration0009TraceContext extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table sync.runs add column if not exists traceparent text;`);
    this.addSql(`alter table sync.run_events add column if not exists traceparent text;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table sync.run_events drop column if exists traceparent;`);
    this.addSql(`alter table sync.runs drop column if exists traceparent;`);
  }
}
