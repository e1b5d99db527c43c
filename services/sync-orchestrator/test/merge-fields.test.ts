// What a run sends the catalog for one product: the listing record with its price answer,
// including Haier's price hint (reason -> price_reason).
import { create } from '@bufbuild/protobuf';
import { gateway } from '@haier-sync/contracts';
import { toProductInput } from '../src/runs/merge';

const listing = create(gateway.ProductSchema, { productCode: 'GA0SZC00U', productModel: 'EC6001', productName: 'n', productGroupName: 'g', productBrandName: 'b', isSales: true });

describe('toProductInput', () => {
  it("carries the price answer's reason as price_reason, and no prices at all when no price call was made", () => {
    const price = create(gateway.PriceSchema, { productCode: 'GA0SZC00U', stockRebatePolicy: '0', rebateMoney: '0', reason: '价格未生效', isSales: true });
    const withPrice = toProductInput(listing, price, true);
    expect(withPrice).toMatchObject({ hasPrices: true, priceReason: '价格未生效', supplyPrice: undefined, stockRebate: '0' });
    const noHint = toProductInput(listing, create(gateway.PriceSchema, { productCode: 'GA0SZC00U', supplyPrice: '10' }), true);
    expect(noHint.priceReason).toBeUndefined();
    const listingOnly = toProductInput(listing, price, false);
    expect(listingOnly.hasPrices).toBe(false);
    expect(listingOnly.priceReason).toBeUndefined();
  });
});
