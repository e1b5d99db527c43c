// The wire contract over real HTTP: paths, field names, quirks, limits, tokens, account checks, control surface.
import { startSimulator, type SimHandle } from '../src/index';
import { ACCOUNT, call, control, getToken, token } from './client';

let sim: SimHandle;
let auth: string;

beforeAll(async () => {
  sim = await startSimulator({ quiet: true, size: 2000, rateLimit: 0 });
  auth = await token(sim.url);
});
afterAll(() => sim.close());

const PRODUCT_FIELDS = ['productCode', 'productModel', 'productGroupNamd', 'productBrandName', 'productImageUrl', 'productLageUrls', 'isSales'];

describe('products', () => {
  it('answers ProductOutInfoDto rows with Haier field names (typos included) in the envelope', async () => {
    const truth = sim.control.products(0, 20);
    const r = await call(sim.url, 'products', { ...ACCOUNT.products, productCodes: truth.map((p) => p.productCode) }, auth);
    expect(r.status).toBe(200);
    expect(r.json.success).toBe(true);
    expect(r.json.data).toHaveLength(20);
    r.json.data.forEach((row: Record<string, unknown>, i: number) => {
      const p = truth[i]!;
      for (const f of PRODUCT_FIELDS) expect(row).toHaveProperty(f);
      expect(Object.keys(row).filter((k) => !['productName', 'noSalesReason', ...PRODUCT_FIELDS].includes(k))).toEqual([]);
      expect(row.productCode).toBe(p.productCode);
      expect(row.productGroupNamd).toBe(p.productGroupNamd);
      expect(row.productLageUrls).toEqual(p.productLageUrls);
      expect(row.productName).toBe(p.productName);
      expect(String(row.isSales)).toBe(p.isSales);
      expect(typeof row.isSales).toBe(p.quirks.isSalesAsNumber ? 'number' : 'string');
    });
  });

  it('returns isSales "0" with a reason for unknown and delisted codes', async () => {
    const { delisted } = sim.control.mutate({ delistShare: 0.001, seed: 5 });
    const r = await call(sim.url, 'products', { ...ACCOUNT.products, productCodes: ['ZZ1234567', delisted[0]] }, auth);
    expect(r.json.data).toEqual([
      { productCode: 'ZZ1234567', isSales: '0', noSalesReason: '商品编码不存在' },
      { productCode: delisted[0], isSales: '0', noSalesReason: '商品已下市' },
    ]);
  });

  it('rejects more than 20 codes with 400 and Haier\'s error shape', async () => {
    const codes = sim.control.products(0, 21).map((p) => p.productCode);
    const r = await call(sim.url, 'products', { ...ACCOUNT.products, productCodes: codes }, auth);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ success: false, code: '400', description: expect.stringMatching(/at most 20/), timeStamp: expect.stringMatching(/^\d{14}$/), data: null });
  });

  it('streams the whole listed catalog when no codes are given', async () => {
    const r = await call(sim.url, 'products', { ...ACCOUNT.products }, auth);
    expect(r.status).toBe(200);
    expect(r.json.data).toHaveLength(sim.control.listedCount());
    expect(r.json.data.map((p: { productCode: string }) => p.productCode)).toEqual(sim.control.products(0, 5000).map((p) => p.productCode));
  });

  it('needs the account fields: missing -> 400, wrong password -> 200 success:false, other customer -> 403', async () => {
    const { passWord: _, ...noPassword } = ACCOUNT.products;
    expect((await call(sim.url, 'products', noPassword, auth)).status).toBe(400);
    expect((await call(sim.url, 'products', { ...ACCOUNT.products, searchType: 'ALL' }, auth)).status).toBe(400);
    const wrong = await call(sim.url, 'products', { ...ACCOUNT.products, passWord: 'nope' }, auth);
    expect(wrong.status).toBe(200);
    expect(wrong.json).toMatchObject({ success: false, code: 'PASSWORD_ERROR', data: null });
    expect(wrong.text).not.toContain('sim-password');
    expect((await call(sim.url, 'products', { ...ACCOUNT.products, customerCode: '1234567890' }, auth)).status).toBe(403);
    const wrongShipTo = await call(sim.url, 'products', { ...ACCOUNT.products, sendToCode: '1' }, auth);
    expect(wrongShipTo.json).toMatchObject({ success: false, code: 'SEND_TO_ERROR' });
  });
});

describe('prices', () => {
  it('answers one PriceSupplyVo per code, decimals as JSON number tokens (strings for the quirk rows)', async () => {
    const truth = sim.control.products(0, 200).filter((p) => p.supplyPrice !== undefined).slice(0, 20);
    const r = await call(sim.url, 'prices', { ...ACCOUNT.prices, productCodes: truth.map((p) => p.productCode) }, auth);
    expect(r.status).toBe(200);
    expect(r.json.data).toHaveLength(20);
    truth.forEach((p, i) => {
      const row = r.json.data[i];
      expect(row.productCode).toBe(p.productCode);
      const token = (v: string) => (p.quirks.decimalsAsStrings ? `"${v}"` : v);
      // the raw text carries the exact decimal, e.g. "supplyPrice":1299.00
      expect(r.text).toContain(`"productCode":"${p.productCode}","supplyPrice":${token(p.supplyPrice!)},"invoicePrice":${token(p.invoicePrice!)}`);
      expect(Object.keys(row).every((k) => ['productCode', 'supplyPrice', 'invoicePrice', 'stockRebatePolicy', 'rebateMoney', 'marketPrice', 'reason', 'isSales'].includes(k))).toBe(true);
    });
  });

  it('writes a setPrice value verbatim as a number token', async () => {
    const p = sim.control.products(0, 100).find((x) => !x.quirks.decimalsAsStrings && x.isSales === '1')!;
    sim.control.setPrice(p.productCode, { supplyPrice: '12345678901234.5678', stockRebatePolicy: '0', rebateMoney: '0' });
    const r = await call(sim.url, 'prices', { ...ACCOUNT.prices, productCodes: [p.productCode] }, auth);
    expect(r.text).toContain('"supplyPrice":12345678901234.5678,"invoicePrice":12345678901234.57,"stockRebatePolicy":0,"rebateMoney":0');
  });

  it('marks unknown codes and missing prices, and needs codes', async () => {
    const noPrice = sim.control.products(0, 2000).find((p) => p.reason === '价格未生效')!;
    const r = await call(sim.url, 'prices', { ...ACCOUNT.prices, productCodes: ['ZZ1234567', noPrice.productCode] }, auth);
    expect(r.json.data[0]).toEqual({ productCode: 'ZZ1234567', reason: '商品编码不存在', isSales: '0' });
    expect(r.json.data[1]).toMatchObject({ productCode: noPrice.productCode, reason: '价格未生效' });
    expect(r.json.data[1]).not.toHaveProperty('supplyPrice');
    expect((await call(sim.url, 'prices', { ...ACCOUNT.prices }, auth)).status).toBe(400);
    expect((await call(sim.url, 'prices', { ...ACCOUNT.prices, productCodes: Array(21).fill(noPrice.productCode) }, auth)).status).toBe(400);
  });
});

describe('stock, logistics, balance', () => {
  it('answers stock as a list of warehouses with stock as a string, as the control says', async () => {
    const withStock = sim.control.products(0, 200).find((p) => sim.control.stock(p.productCode, '110101').length >= 2)!;
    const r = await call(sim.url, 'stock', { ...ACCOUNT.stock, productCode: withStock.productCode, countyCode: '110101' }, auth);
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual(sim.control.stock(withStock.productCode, '110101'));
    for (const w of r.json.data) {
      expect(Object.keys(w).sort()).toEqual(['secCode', 'stock', 'timelinessData', 'warehouseGrade']);
      expect(typeof w.stock).toBe('string');
      expect(['0', '1']).toContain(w.warehouseGrade);
      expect(Object.keys(w.timelinessData).sort()).toEqual(['achieveUserOrderCut', 'cutTime', 'hour', 'isTranfer']);
    }
    expect((await call(sim.url, 'stock', { ...ACCOUNT.stock, productCode: withStock.productCode, countyCode: '1101' }, auth)).status).toBe(400);
    expect((await call(sim.url, 'stock', { ...ACCOUNT.stock, productCode: withStock.productCode, countyCode: '110101', sellerPassword: 'x' }, auth)).json.success).toBe(false);
  });

  it('answers logistics with the three lists, deterministically', async () => {
    const body = { ...ACCOUNT.logistics, orderCode: 'SO.20190106.000003' };
    const a = await call(sim.url, 'logistics', body, auth);
    const b = await call(sim.url, 'logistics', body, auth);
    expect(a.status).toBe(200);
    expect(Object.keys(a.json.data).sort()).toEqual(['getAllLogisticsInfoByOrderCode', 'getStockDeliveryLogisticsRecord', 'getStockDeliveryLogisticsRecordThirdparty']);
    expect(a.json.data.getAllLogisticsInfoByOrderCode.length).toBeGreaterThan(0);
    expect(b.text).toBe(a.text);
    const { orderCode: _, ...noOrder } = body;
    expect((await call(sim.url, 'logistics', noOrder, auth)).status).toBe(400);
  });

  it('answers payer balances with decimal number tokens', async () => {
    const r = await call(sim.url, 'balance', ACCOUNT.balance, auth);
    expect(r.status).toBe(200);
    expect(r.json.data.length).toBeGreaterThan(0);
    expect(Object.keys(r.json.data[0]).sort()).toEqual(['payerAccountBalance', 'payerAccountCode', 'payerAccountName', 'saleGroupCode', 'saleGroupName']);
    expect(r.text).toMatch(/"payerAccountBalance":\d+\.\d{2}[,}]/);
    expect((await call(sim.url, 'balance', { ...ACCOUNT.balance, customerPassword: 'x' }, auth)).json.code).toBe('PASSWORD_ERROR');
  });
});

describe('tokens', () => {
  it('issues a JWT-looking token on /oauth2/auth and /oauth2/token, refuses a bad secret with 401', async () => {
    for (const path of ['/oauth2/auth', '/oauth2/token']) {
      const t = await getToken(sim.url, undefined, path);
      expect(t.status).toBe(200);
      expect(t.body).toEqual({ access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/), token_type: 'bearer', expires_in: 3600 });
    }
    const bad = await getToken(sim.url, { client_id: 'sim-client', client_secret: 'wrong', grant_type: 'client_credentials' });
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ success: false, code: '401', data: null });
    expect((await getToken(sim.url, { client_id: 'sim-client', client_secret: 'sim-secret', grant_type: 'password' })).status).toBe(400);
  });

  it('accepts the token bare and with Bearer; refuses missing and unknown tokens with 401', async () => {
    const body = ACCOUNT.balance;
    expect((await call(sim.url, 'balance', body, auth)).status).toBe(200);
    expect((await call(sim.url, 'balance', body, `Bearer ${auth}`)).status).toBe(200);
    expect((await call(sim.url, 'balance', body)).status).toBe(401);
    const unknown = await call(sim.url, 'balance', body, 'eyJ.fake.token');
    expect(unknown.status).toBe(401);
    expect(unknown.json).toMatchObject({ success: false, code: '401' });
  });

  it('expires tokens after their TTL', async () => {
    sim.control.configure({ tokenTtlSeconds: 1 });
    try {
      const short = await token(sim.url);
      expect((await call(sim.url, 'balance', ACCOUNT.balance, short)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await call(sim.url, 'balance', ACCOUNT.balance, short)).status).toBe(401);
    } finally {
      sim.control.configure({ tokenTtlSeconds: 3600 });
    }
  });

  it('revokes every token on request', async () => {
    const t = await token(sim.url);
    expect((await control(sim.url, 'POST', '/revoke-tokens')).status).toBe(200);
    expect((await call(sim.url, 'balance', ACCOUNT.balance, t)).status).toBe(401);
    auth = await token(sim.url);
    expect((await call(sim.url, 'balance', ACCOUNT.balance, auth)).status).toBe(200);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After past the per-account limit and counts it', async () => {
    sim.control.configure({ rateLimit: 5 });
    sim.control.resetStats();
    try {
      const results = await Promise.all(Array.from({ length: 12 }, () => call(sim.url, 'balance', ACCOUNT.balance, auth)));
      const throttled = results.filter((r) => r.status === 429);
      expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(5);
      expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(6);
      expect(throttled.length).toBeGreaterThanOrEqual(6);
      for (const r of throttled) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(r.json).toMatchObject({ success: false, code: '429', data: null });
      }
      const stats = sim.control.stats();
      expect(stats.throttled).toBe(throttled.length);
      expect(stats.byEndpoint.balance?.throttled).toBe(throttled.length);
      expect(stats.maxObservedRps).toBe(12);
    } finally {
      sim.control.configure({ rateLimit: 0 });
    }
  });
});

describe('control over HTTP', () => {
  it('serves stats, config, products and price edits under /__sim/', async () => {
    await control(sim.url, 'POST', '/stats/reset');
    await call(sim.url, 'balance', ACCOUNT.balance, auth);
    const stats = await control(sim.url, 'GET', '/stats');
    expect(stats.json).toMatchObject({ total: 1, throttled: 0, byEndpoint: { balance: { ok: 1 } } });
    expect((await control(sim.url, 'POST', '/config', { latencyMs: 5 })).json.latencyMs).toBe(5);
    expect((await control(sim.url, 'POST', '/config', { latencyMs: -1 })).status).toBe(400);
    await control(sim.url, 'POST', '/config', { latencyMs: 0 });
    const page = await control(sim.url, 'GET', '/products?offset=3&limit=2');
    expect(page.json.products.map((p: { productCode: string }) => p.productCode)).toEqual(sim.control.products(3, 2).map((p) => p.productCode));
    const code = page.json.products[0].productCode;
    expect((await control(sim.url, 'GET', `/products/${code}`)).json.productCode).toBe(code);
    expect((await control(sim.url, 'GET', '/products/ZZ1234567')).status).toBe(404);
    expect((await control(sim.url, 'POST', `/products/${code}/price`, { supplyPrice: '100.00' })).json.supplyPrice).toBe('100.00');
    expect((await control(sim.url, 'POST', '/faults', { rate500: 2 })).status).toBe(400);
    expect((await control(sim.url, 'POST', '/mutate', { addCount: 2 })).json.added).toHaveLength(2);
    expect((await control(sim.url, 'GET', '/nope')).status).toBe(404);
  });

  it('answers 404 in Haier\'s shape for an unknown path', async () => {
    const res = await fetch(`${sim.url}/yilihuo/nothing`, { method: 'POST', headers: { authorization: auth } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ success: false, code: '404' });
  });
});
