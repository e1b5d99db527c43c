// Product i of a catalog as a pure function of (seed, i): the base truth before any mutation.
import { codeBody } from './codes';
import { hash32, intIn, pick, unit } from './hash';
import { imagePath } from './images';
import type { SimProduct } from './types';

interface Group {
  name: string;
  prefix: string; // the 2 letters of the product code
  minYuan: number;
  maxYuan: number;
  model: (h: (salt: number) => number) => string;
  nouns: readonly string[];
}

const L = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const letter = (n: number) => L[n % L.length] ?? 'A';
const digits = (n: number, width: number) => String(n % 10 ** width).padStart(width, '0');

const GROUPS: readonly Group[] = [
  { name: '冰箱', prefix: 'BB', minYuan: 1599, maxYuan: 29999, nouns: ['十字对开门冰箱', '法式多门冰箱', '三门冰箱', '对开门冰箱'],
    model: (h) => `BCD-${100 + (h(1) % 560)}${pick(['WDPG', 'WDCE', 'WGHFD', 'WLHTD', 'WBPZU1'], h(2))}` },
  { name: '洗衣机', prefix: 'XA', minYuan: 999, maxYuan: 19999, nouns: ['滚筒洗衣机', '波轮洗衣机', '洗烘一体机'],
    model: (h) => `${pick(['EG', 'XQG', 'XQB', 'EG10014B'], h(1))}${80 + (h(2) % 9) * 10}${pick(['B39TU1', 'MATE3S', 'HBD14326L', 'BD126'], h(3))}` },
  { name: '空调', prefix: 'AA', minYuan: 1999, maxYuan: 15999, nouns: ['壁挂式空调', '柜式空调', '变频空调'],
    model: (h) => `KFR-${pick(['26', '35', '50', '72'], h(1))}${pick(['GW', 'LW'], h(2))}/${digits(h(3), 2)}${letter(h(4))}${letter(h(5))}${letter(h(6))}81U1` },
  { name: '电热水器', prefix: 'GA', minYuan: 699, maxYuan: 5999, nouns: ['储水式电热水器', '速热电热水器'],
    model: (h) => `EC${pick(['5', '6', '8'], h(1))}00${1 + (h(2) % 9)}-${pick(['HT3', 'MC3', 'JN3', 'PV5', 'YGF'], h(3))}` },
  { name: '燃气热水器', prefix: 'GB', minYuan: 1199, maxYuan: 7999, nouns: ['零冷水燃气热水器', '恒温燃气热水器'],
    model: (h) => `JSQ${pick(['25', '30', '31'], h(1))}-${pick(['13', '16'], h(2))}${pick(['WN3S', 'KL5FXPU1', 'TE7'], h(3))}` },
  { name: '冷柜', prefix: 'BC', minYuan: 899, maxYuan: 6999, nouns: ['卧式冷柜', '立式冷柜'],
    model: (h) => `${pick(['BC/BD', 'BD', 'SC'], h(1))}-${100 + (h(2) % 420)}${pick(['HCD', 'GHX', 'WL'], h(3))}` },
  { name: '彩电', prefix: 'CE', minYuan: 1299, maxYuan: 39999, nouns: ['智能电视', '液晶电视', '4K电视'],
    model: (h) => `${pick(['LU', 'H', 'LS'], h(1))}${pick(['43', '55', '65', '75', '85'], h(2))}${letter(h(3))}${digits(h(4), 2)}` },
  { name: '油烟机', prefix: 'CX', minYuan: 1299, maxYuan: 9999, nouns: ['侧吸式油烟机', '顶吸式油烟机'],
    model: (h) => `CXW-${pick(['200', '219', '248'], h(1))}-${letter(h(2))}${digits(h(3), 3)}${letter(h(4))}` },
  { name: '燃气灶', prefix: 'RZ', minYuan: 499, maxYuan: 3999, nouns: ['嵌入式燃气灶', '台式燃气灶'],
    model: (h) => `JZT-Q${pick(['E5B1', 'H5BE', 'S51'], h(1))}${pick(['', '(12T)', '(20Y)'], h(2))}` },
  { name: '洗碗机', prefix: 'WD', minYuan: 1999, maxYuan: 12999, nouns: ['嵌入式洗碗机', '台式洗碗机'],
    model: (h) => `EYW${pick(['13', '15', '16'], h(1))}${digits(h(2), 3)}${pick(['CD', 'BK', 'TS'], h(3))}` },
  { name: '净水器', prefix: 'JS', minYuan: 899, maxYuan: 8999, nouns: ['反渗透净水器', '厨下净水器'],
    model: (h) => `HRO${pick(['400', '600', '800', '1000'], h(1))}-${pick(['5', '6', '7'], h(2))}${letter(h(3))}` },
  { name: '微波炉', prefix: 'MW', minYuan: 399, maxYuan: 2999, nouns: ['变频微波炉', '微蒸烤一体机'],
    model: (h) => `MZ${pick(['K', 'C', 'A'], h(1))}-${2000 + (h(2) % 70)}${letter(h(3))}` },
];

/** Brands with weights (per 100). */
const BRANDS: ReadonlyArray<readonly [string, number]> = [['海尔', 58], ['卡萨帝', 14], ['统帅', 12], ['Leader', 8], ['GE', 8]];
const FEATURES = ['一级能效', '智能', '变频', '超薄', '大容量', '静音', '除菌', '新风'];
const REBATE_TYPES = ['COM', 'FHQ', 'BF', 'DTDBF'];
const NOT_PROCURABLE = ['商品暂不可采', '未对该客户开放'];
/** A non-negative integer count of cents as 2-dp decimal text. */
function centsText(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** The host in generated image URLs; the catalog rewrites it to where the images are served (Catalog.imageBase). */
export const IMAGE_HOST = 'https://img.haier-sim.invalid';

// Salts: one per generated property so properties are independent of each other.
const S = { group: 1, brand: 2, name: 3, named: 4, sales: 5, salesReason: 6, numQuirk: 7, strQuirk: 8, price: 9, priceCents: 10,
  noPrice: 11, rebatePolicy: 12, rate: 13, rebateType: 14, rebateMoney: 15, rebateAmount: 16, market: 17, marketFactor: 18,
  pages: 19, model: 100 } as const;

export function groupOf(seed: number, index: number): Group {
  return pick(GROUPS, seed, index, S.group);
}

export function codeOf(seed: number, index: number): string {
  return groupOf(seed, index).prefix + codeBody(seed, index);
}

export function isGroupPrefix(prefix: string): boolean {
  return GROUPS.some((g) => g.prefix === prefix);
}

function brandOf(seed: number, index: number): string {
  let roll = intIn(0, 99, seed, index, S.brand);
  for (const [name, weight] of BRANDS) {
    if (roll < weight) return name;
    roll -= weight;
  }
  return '海尔';
}

/** The base product (no overlays). Pure: same (seed, index) gives the same product. */
export function generateProduct(seed: number, index: number): SimProduct {
  const group = groupOf(seed, index);
  const productCode = group.prefix + codeBody(seed, index);
  const brand = brandOf(seed, index);
  const productModel = group.model((salt) => hash32(seed, index, S.model + salt));
  const u = (salt: number) => unit(seed, index, salt);

  const pages = intIn(0, 5, seed, index, S.pages);
  const productLageUrls = Array.from({ length: pages }, (_, k) => `${IMAGE_HOST}${imagePath(productCode, k + 1)}`);

  const procurable = u(S.sales) >= 0.04; // ~4% not procurable
  const product: SimProduct = {
    index,
    productCode,
    productModel,
    productGroupNamd: group.name,
    productBrandName: brand,
    productImageUrl: `${IMAGE_HOST}${imagePath(productCode, 0)}`,
    productLageUrls,
    isSales: procurable ? '1' : '0',
    stockRebatePolicy: '0',
    rebateMoney: '0',
    listed: true,
    quirks: { isSalesAsNumber: u(S.numQuirk) < 0.1, decimalsAsStrings: u(S.strQuirk) < 0.1 },
  };
  if (u(S.named) < 0.7) product.productName = `${brand}${pick(FEATURES, seed, index, S.name)}${pick(group.nouns, seed, index, S.name + 1)} ${productModel}`;
  if (!procurable) {
    product.noSalesReason = pick(NOT_PROCURABLE, seed, index, S.salesReason);
    product.reason = '商品暂不可采';
    return product;
  }

  // Prices in integer cents (exact: every value here stays far below 2^53). Rates are in 1/1000.
  const yuan = intIn(group.minYuan, group.maxYuan, seed, index, S.price);
  const supplyCents = yuan * 100 + pick([0, 0, 0, 0, 50, 90], seed, index, S.priceCents);

  let rateMille = 0;
  const policyRoll = u(S.rebatePolicy);
  if (policyRoll < 0.06) product.stockRebatePolicy = pick(REBATE_TYPES, seed, index, S.rebateType);
  else if (policyRoll < 0.38) {
    rateMille = pick([10, 20, 25, 30, 50, 80], seed, index, S.rate);
    product.stockRebatePolicy = `0.${String(rateMille).padStart(3, '0')}`.replace(/0+$/, '');
  }
  let rebateCents = 0;
  if (u(S.rebateMoney) < 0.3) {
    rebateCents = pick([1000, 2000, 5000, 10000, 2550, 15000], seed, index, S.rebateAmount);
    product.rebateMoney = rebateCents % 100 === 0 ? String(rebateCents / 100) : centsText(rebateCents);
  }
  if (u(S.market) < 0.4) {
    const percent = intIn(115, 150, seed, index, S.marketFactor);
    product.marketPrice = centsText(Math.floor((supplyCents * percent) / 10000) * 100); // whole yuan
  }
  if (u(S.noPrice) < 0.02) {
    product.reason = '价格未生效';
    return product;
  }
  product.supplyPrice = centsText(supplyCents);
  // invoice = supply × (1 − rate) − rebate, in cents×1000, rounded half up to cents (all terms positive)
  product.invoicePrice = centsText(Math.floor((supplyCents * (1000 - rateMille) - rebateCents * 1000 + 500) / 1000));
  return product;
}
