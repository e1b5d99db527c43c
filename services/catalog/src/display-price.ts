// Display price priority: the operator's pinned price, else supply, else invoice, else market price.
import type { Prices } from './product-table';

export function displayPrice(prices: Pick<Prices, 'supply_price' | 'invoice_price' | 'market_price'>, pinned: string | null): string | null {
  return pinned ?? prices.supply_price ?? prices.invoice_price ?? prices.market_price ?? null;
}
