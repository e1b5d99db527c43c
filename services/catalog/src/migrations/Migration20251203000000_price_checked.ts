import { Migration } from '@mikro-orm/migrations';

// When each product's price was last checked against Haier (every price write, changed or
// not), and the index the price-freshness sweep reads oldest first: procurable products only,
// never-checked ones first.
export class Migration20251203000000_price_checked extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table catalog.product add column price_checked_at timestamptz;`);
    this.addSql(
      `create index product_price_checked_idx on catalog.product (price_checked_at asc nulls first, code) where delisted_at is null and is_sales;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists catalog.product_price_checked_idx;`);
    this.addSql(`alter table catalog.product drop column if exists price_checked_at;`);
  }
}
