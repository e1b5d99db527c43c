import { product, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('CheckIntegrity', () => {
  it('CheckIntegrity finds data that cannot be right', async () => {
    const clean = await h.client.checkIntegrity({});
    expect(clean.findings).toEqual([]);
    expect(clean.ok).toBe(true);
    await h.client.upsertProducts({ products: [product('IN1'), product('IN2'), product('IN3', { productBrandName: '' })], runId: 'in' });
    await h.pg.query(`update catalog.product set invoice_price = 1 where code = 'IN1'`);
    await h.pg.query(`update catalog.product set stock = -3, display_price = 5 where code = 'IN2'`);
    const r = await h.client.checkIntegrity({ sampleLimit: 5 });
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => [f.check, f.count, f.sampleCodes])).toEqual([
      ['invoice_price_formula', 1n, ['IN1']],
      ['missing_brand', 1n, ['IN3']],
      ['negative_stock', 1n, ['IN2']],
      ['display_price_priority', 1n, ['IN2']],
    ]);
  });
  it('reports healthy over gRPC health while the database answers', async () => {
    expect(await h.cat.readiness()).toBe(true);
  });
});
