// PinPrice / UnpinPrice: an operator's price wins over every Haier price for display; a sync
// never overwrites it. Recorded in the change log (price_changed) and price history.
import type { EntityManager } from '@mikro-orm/postgresql';
import { appendChanges, appendPriceHistory } from './change-log';
import { diffFields } from './change-detection';
import { DecimalError, canonicalOrNull, canonicalDecimal } from './stored-decimal';
import { displayPrice } from './display-price';
import { BatchRejection } from './product-input';
import { NotFound } from './errors';
import { query } from './sql';
import { withRetry } from './transaction';

export function parsePin(price: string): string {
  let v: string;
  try {
    v = canonicalDecimal(price);
  } catch (err) {
    throw new BatchRejection(`price ${err instanceof DecimalError ? err.message : String(err)}`);
  }
  if (v.startsWith('-') || v === '0') throw new BatchRejection(`price must be greater than 0, got "${price}"`);
  return v;
}

/** Sets (price) or clears (null) the pinned price. Writes nothing when it is already so. */
export async function setPin(em: EntityManager, code: string, pinned: string | null, actor: string): Promise<void> {
  await withRetry(() =>
    em.transactional(async (tem) => {
      const [row] = await query<{ supply_price: string | null; invoice_price: string | null; market_price: string | null; pinned_price: string | null; display_price: string | null }>(
        tem,
        `select supply_price::text as supply_price, invoice_price::text as invoice_price, market_price::text as market_price,
           pinned_price::text as pinned_price, display_price::text as display_price
         from catalog.product where code = ? for update`,
        [code],
      );
      if (!row) throw new NotFound(`product "${code}" is not in the catalog; check the code or run a sync first`);
      const prices = {
        supply_price: canonicalOrNull(row.supply_price),
        invoice_price: canonicalOrNull(row.invoice_price),
        market_price: canonicalOrNull(row.market_price),
      };
      const before = { pinned_price: canonicalOrNull(row.pinned_price), display_price: canonicalOrNull(row.display_price) };
      const after = { pinned_price: pinned, display_price: displayPrice(prices, pinned) };
      const fields = diffFields(before, after, ['pinned_price', 'display_price']);
      if (fields.length === 0) return;
      await query(tem, `update catalog.product set pinned_price = ?, display_price = ?, version = version + 1, updated_at = now() where code = ?`, [
        after.pinned_price,
        after.display_price,
        code,
      ]);
      const entries = [{ code, kind: 'price_changed' as const, fields }];
      await appendChanges(tem, entries, '', actor);
      await appendPriceHistory(tem, entries, actor ? `pin:${actor}` : 'pin');
    }),
  );
}
