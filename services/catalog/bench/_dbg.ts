import { createTestDatabase } from '@haier-sync/runtime/testing';
import { initOrm } from '../src/orm';
import { normaliseProducts } from '../src/product-input';
import { upsertProducts } from '../src/upsert-products';
(async () => {
  const db = await createTestDatabase('cat_dbg');
  const orm = await initOrm({ databaseUrl: db.url });
  try {
    await orm.getMigrator().up();
    const { items } = normaliseProducts([{ productCode: 'A', productModel: 'm', productName: '', productGroupName: 'g', productBrandName: 'b', productImageUrl: '', productPageUrls: [], isSales: true, noSalesReason: '', supplyPrice: '1', hasPrices: true }]);
    console.log(await upsertProducts(orm.em.fork(), items, { runId: 'r' }));
    console.log(await upsertProducts(orm.em.fork(), items, { runId: 'r' }));
  } catch (e) { console.error(e); } finally { await orm.close(); await db.drop(); }
})();
