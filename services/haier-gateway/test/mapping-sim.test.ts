// Mapping against the simulator's real wire format: decimals come back exactly as Haier wrote
// them (JSON number tokens or strings), isSales "1"/1 as a boolean, and a malformed record is
// reported with its code and reason while the rest of its batch is answered.
import { startStack, simCalls, type Stack } from './harness';

describe('mapping over the wire', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { size: 500, rateLimit: 0 }, env: { HAIER_RATE_LIMIT: '1000' } });
  });
  afterAll(() => s.close());
  beforeEach(() => {
    s.sim.control.clearFaults();
    s.sim.control.resetStats();
  });

  it('decimals round-trip exactly, whether Haier sends number tokens or strings', async () => {
    const all = s.sim.control.products(0, 500).filter((p) => p.isSales === '1' && p.listed);
    const asNumber = all.find((p) => !p.quirks.decimalsAsStrings)!;
    const asString = all.find((p) => p.quirks.decimalsAsStrings)!;
    expect(asNumber).toBeDefined();
    expect(asString).toBeDefined();
    const exact = {
      supplyPrice: '1234.5678',
      invoicePrice: '0.10',
      marketPrice: '90071992547409931.01', // beyond a double's precision
      stockRebatePolicy: '0.050',
      rebateMoney: '0.00',
    };
    for (const p of [asNumber, asString]) s.sim.control.setPrice(p.productCode, exact);
    const r = await s.client.getPrices({ productCodes: [asNumber.productCode, asString.productCode] });
    expect(r.errors).toEqual([]);
    for (const price of r.prices) {
      expect(price).toMatchObject({ supplyPrice: '1234.5678', invoicePrice: '0.10', marketPrice: '90071992547409931.01', stockRebatePolicy: '0.050', rebateMoney: '0.00' });
    }
  });

  it('every generated price matches the simulator\'s truth exactly, and isSales is a boolean whatever its wire type', async () => {
    const truth = s.sim.control.products(100, 60);
    const r = await s.client.getPrices({ productCodes: truth.map((p) => p.productCode) });
    expect(r.prices.map((p) => p.productCode)).toEqual(truth.map((p) => p.productCode));
    truth.forEach((t, i) => {
      const p = r.prices[i]!;
      expect(p.supplyPrice).toBe(t.supplyPrice);
      expect(p.invoicePrice).toBe(t.invoicePrice);
      expect(p.rebateMoney).toBe(t.rebateMoney);
      if (/^\d/.test(t.stockRebatePolicy)) expect(p.stockRebatePolicy).toBe(t.stockRebatePolicy);
      else expect(p.rebateType).toBe(t.stockRebatePolicy);
      expect(p.isSales).toBe(t.isSales === '1');
    });
    // both wire forms of isSales were exercised
    expect(new Set(truth.map((t) => t.quirks.isSalesAsNumber)).size).toBe(2);
  });

  it('a malformed price record is reported with its code; the rest of the batch is answered', async () => {
    s.sim.control.faults({ malformedRate: 1 }); // one damaged row in every upstream answer
    const codes = s.sim.control.products(0, 40).map((p) => p.productCode);
    const r = await s.client.getPrices({ productCodes: codes });
    expect(simCalls(s.sim, 'prices', 'malformed')).toBe(2);
    // every code requested is answered exactly once: a price or an error naming it
    const answered = [...r.prices.map((p) => p.productCode), ...r.errors.filter((e) => e.productCode).map((e) => e.productCode)];
    expect(answered.sort()).toEqual([...codes].sort());
    expect(r.prices.length).toBeGreaterThanOrEqual(38);
    const coded = r.errors.filter((e) => e.productCode);
    expect(coded.length).toBe(40 - r.prices.length);
    for (const e of coded) expect(e.reason).toMatch(/^(malformed record: .+|Haier returned no record for this code)$/);
  });

  it('a malformed product record is reported with its reason; the batch is answered', async () => {
    s.sim.control.faults({ malformedRate: 1 });
    const codes = s.sim.control.products(200, 20).map((p) => p.productCode);
    const r = await s.client.getProducts({ productCodes: codes });
    expect(r.products.length).toBe(19);
    expect(r.errors.length).toBeGreaterThanOrEqual(1);
    const missing = codes.find((c) => !r.products.some((p) => p.productCode === c))!;
    expect(r.errors).toContainEqual(expect.objectContaining({ productCode: missing }));
  });

  it('the whole list streams with a malformed row reported, not failing the stream', async () => {
    s.sim.control.faults({ malformedRate: 1 });
    let products = 0;
    let seen = 0n;
    const errors: string[] = [];
    for await (const chunk of s.client.streamAllProducts({ chunkSize: 100 })) {
      products += chunk.products.length;
      errors.push(...chunk.errors.map((e) => e.reason));
      seen = chunk.seen;
    }
    const listed = s.sim.control.listedCount();
    expect(Number(seen)).toBe(listed);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/productCode|malformed record/);
    expect(products).toBe(listed - 1);
  });
});
