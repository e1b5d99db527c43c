import { Migration } from '@mikro-orm/migrations';

// The W3C trace context (`traceparent`) of the work that wrote each change-log row (issue 14: one
// trace per run): the event relay's PRODUCER span continues and links to it. Nullable, no default:
// adding it rewrites nothing, and rows written with tracing off (or before this) have none.
export class Migration20251203200000_trace_context extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table catalog.change_log add column if not exists traceparent text;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table catalog.change_log drop column if exists traceparent;`);
  }
}
