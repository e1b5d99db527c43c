import { Migration } from '@mikro-orm/migrations';

// Mirrored product images (issue 15): the product carries its current images (content only, in
// its snapshot and events); catalog.product_image keeps what the mirror knows per image
// (source URL, validators, last failure, when fetched and checked).
export class Migration20251203100000_product_images extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table catalog.product add column images jsonb not null default '[]';`);
    this.addSql(`create table catalog.product_image (
      product_code text not null references catalog.product (code) on delete cascade,
      position int not null check (position >= 0),
      source_url text not null,
      status text not null check (status in ('stored', 'failed')),
      sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
      storage_key text,
      content_type text,
      bytes bigint check (bytes >= 0),
      width int,
      height int,
      etag text not null default '',
      last_modified text not null default '',
      failure text not null default '',
      fetched_at timestamptz,
      checked_at timestamptz not null default now(),
      primary key (product_code, position),
      check ((sha256 is null) = (storage_key is null)));`);
    this.addSql(`create index product_image_storage_key on catalog.product_image (storage_key) where storage_key is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists catalog.product_image;`);
    this.addSql(`alter table catalog.product drop column if exists images;`);
  }
}
