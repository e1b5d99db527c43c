import { Migration } from '@mikro-orm/migrations';

// Haier's price-answer hint (PriceSupplyVo.reason, e.g. 价格未生效), kept with the prices.
export class Migration20251202000000_price_reason extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table catalog.product add column price_reason text not null default '';`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table catalog.product drop column if exists price_reason;`);
  }
}
