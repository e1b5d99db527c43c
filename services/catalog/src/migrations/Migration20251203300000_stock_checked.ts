import { Migration } from '@mikro-orm/migrations';

// When each product's stock was last checked against Haier (every UpdateStock that carried its
// entries, changed or not), and the index the low-stock freshness sweep and the stock ages read:
// listed products by headline stock (a range scan for "below the threshold"), then by check.
export class Migration20251203300000_stock_checked extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table catalog.product add column stock_checked_at timestamptz;`);
    this.addSql(
      `create index product_low_stock_idx on catalog.product (stock, stock_checked_at) where delisted_at is null and stock is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists catalog.product_low_stock_idx;`);
    this.addSql(`alter table catalog.product drop column if exists stock_checked_at;`);
  }
}
