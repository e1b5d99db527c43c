import { Migration } from '@mikro-orm/migrations';

// A guard for single-statement batch writes: fails the statement (so nothing of it is written)
// when a concurrent batch created some of the products first. SQLSTATE HS409.
export class Migration20251125000000_batch_guard extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function catalog.assert_all_inserted(expected int, inserted int) returns int language plpgsql as $$
      begin
        if inserted <> expected then
          raise exception using errcode = 'HS409',
            message = format('%s of %s new products were created by a concurrent batch first', expected - inserted, expected);
        end if;
        return inserted;
      end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists catalog.assert_all_inserted(int, int);`);
  }
}
