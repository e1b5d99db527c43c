// The simulator's catalog: generated products (pure function of seed and index) plus sparse overlays
// for what mutations and setPrice changed. Never holds the whole catalog in memory.
import { indexOfBody } from './codes';
import { invoicePrice, isDecimal, parseDecimal, formatScaled, roundHalfUp, mul } from './price-math';
import { codeOf, generateProduct, IMAGE_HOST, isGroupPrefix } from './generate';
import { imageIdentity, type ImageIdentity, type ImageRef } from './images';
import { hash32, hashString, intIn, sequence, unit } from './hash';
import type { Mutation, MutationResult, PricePatch, SimProduct, StockEntry } from './types';

export type Lookup = { product: SimProduct } | { missing: '商品已下市' | '商品编码不存在' };

const PRICE_FIELDS = ['supplyPrice', 'invoicePrice', 'marketPrice', 'stockRebatePolicy', 'rebateMoney'] as const;

export class Catalog {
  private added = 0;
  private readonly delisted = new Set<number>();
  private delistedSorted: number[] | undefined = [];
  private readonly prices = new Map<number, PricePatch>();
  private readonly stockVersions = new Map<number, number>();
  /** index -> how often its images changed */
  private readonly imageVersions = new Map<number, number>();
  /** index -> how often its image URLs moved (the URLs carry `?v=N`; the content stays) */
  private readonly imageMoves = new Map<number, number>();
  private mutations = 0;
  /** Where image URLs point: the server sets its own URL (SimOptions.imageBaseUrl overrides). */
  imageBase = IMAGE_HOST;

  constructor(readonly seed: number, readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`size must be a whole number >= 0, got ${size}`);
  }

  /** Every index ever generated: the original catalog plus added products. */
  total(): number {
    return this.size + this.added;
  }

  listedCount(): number {
    return this.total() - this.delisted.size;
  }

  /** The index a code stands for, when it names a product of this catalog (listed or delisted). */
  indexOf(code: string): number | undefined {
    if (typeof code !== 'string' || code.length !== 9 || !isGroupPrefix(code.slice(0, 2))) return undefined;
    const index = indexOfBody(this.seed, code.slice(2));
    if (index === undefined || index >= this.total()) return undefined;
    return codeOf(this.seed, index) === code ? index : undefined;
  }

  product(index: number): SimProduct {
    const p = generateProduct(this.seed, index);
    const patch = this.prices.get(index);
    if (patch) {
      for (const f of PRICE_FIELDS) {
        const v = patch[f];
        if (v !== undefined) (p as unknown as Record<string, string>)[f] = v;
      }
      if (p.supplyPrice !== undefined && p.reason === '价格未生效') delete p.reason;
    }
    p.listed = !this.delisted.has(index);
    if (this.imageBase !== IMAGE_HOST) {
      const base = this.imageBase;
      p.productImageUrl = base + p.productImageUrl.slice(IMAGE_HOST.length);
      p.productLageUrls = p.productLageUrls.map((u) => base + u.slice(IMAGE_HOST.length));
    }
    const moved = this.imageMoves.get(index);
    if (moved) {
      p.productImageUrl += `?v=${moved}`;
      p.productLageUrls = p.productLageUrls.map((u) => `${u}?v=${moved}`);
    }
    return p;
  }

  /** The image at `ref` if the catalog lists it (a listed product, a page it has). */
  image(ref: ImageRef): ImageIdentity | undefined {
    const index = this.indexOf(ref.code);
    if (index === undefined || this.delisted.has(index)) return undefined;
    if (ref.page > generateProduct(this.seed, index).productLageUrls.length) return undefined;
    return imageIdentity(this.seed, index, ref.page, this.imageVersions.get(index) ?? 0);
  }

  changeImage(code: string): void {
    const index = this.indexOf(code);
    if (index === undefined) throw new Error(`no product ${code} in this simulator's catalog`);
    this.imageVersions.set(index, (this.imageVersions.get(index) ?? 0) + 1);
  }

  /** Moves the stock of `code` in every county, as a mutation's stockMoveShare does (each warehouse by 37 units, mod 301; a county without warehouses stays empty). */
  moveStock(code: string): void {
    const index = this.indexOf(code);
    if (index === undefined) throw new Error(`no product ${code} in this simulator's catalog`);
    this.stockVersions.set(index, (this.stockVersions.get(index) ?? 0) + 1);
  }

  /** New URLs for every image of `code` (a `?v=N` revision; the same pictures are served there). */
  moveImages(code: string): void {
    const index = this.indexOf(code);
    if (index === undefined) throw new Error(`no product ${code} in this simulator's catalog`);
    this.imageMoves.set(index, (this.imageMoves.get(index) ?? 0) + 1);
  }

  productByCode(code: string): SimProduct | undefined {
    const index = this.indexOf(code);
    return index === undefined ? undefined : this.product(index);
  }

  /** What a requested code resolves to: the product, or why there is none. */
  lookup(code: string): Lookup {
    const index = this.indexOf(code);
    if (index === undefined) return { missing: '商品编码不存在' };
    if (this.delisted.has(index)) return { missing: '商品已下市' };
    return { product: this.product(index) };
  }

  private sortedDelisted(): number[] {
    if (!this.delistedSorted) this.delistedSorted = [...this.delisted].sort((a, b) => a - b);
    return this.delistedSorted;
  }

  /** The index of the listed product at listing position `position` (0-based). */
  nthListed(position: number): number {
    const d = this.sortedDelisted();
    // smallest i with (i + 1 - #delisted<=i) > position; i is in [position, position + d.length]
    let lo = position;
    let hi = position + d.length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (mid + 1 - countAtMost(d, mid) > position) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Listed indices from listing position `offset`, in listing order, lazily. */
  *listedIndices(offset = 0, limit = Infinity): Generator<number> {
    if (offset >= this.listedCount() || limit <= 0) return;
    const d = this.sortedDelisted();
    let i = this.nthListed(offset);
    let k = countAtMost(d, i); // next delisted entry to skip
    const total = this.total();
    for (let n = 0; n < limit && i < total; i++) {
      if (k < d.length && d[k] === i) {
        k++;
        continue;
      }
      yield i;
      n++;
    }
  }

  products(offset: number, limit: number): SimProduct[] {
    const out: SimProduct[] = [];
    for (const i of this.listedIndices(Math.max(0, offset), Math.max(0, limit))) out.push(this.product(i));
    return out;
  }

  setPrice(code: string, patch: PricePatch): void {
    const index = this.indexOf(code);
    if (index === undefined) throw new Error(`no product ${code} in this simulator's catalog`);
    for (const f of PRICE_FIELDS) {
      const v = patch[f];
      if (v === undefined) continue;
      if (f === 'stockRebatePolicy' ? !(isDecimal(v) || /^[A-Z]{2,10}$/.test(v)) : !isDecimal(v))
        throw new Error(`${f} must be decimal text such as 1299.00${f === 'stockRebatePolicy' ? ' or a rebate type such as COM' : ''}, got "${v}"`);
    }
    const merged: PricePatch = { ...this.prices.get(index), ...stripUndefined(patch) };
    const current = { ...this.product(index), ...merged };
    if (patch.invoicePrice === undefined && current.supplyPrice !== undefined)
      merged.invoicePrice = invoicePrice(current.supplyPrice, current.stockRebatePolicy, current.rebateMoney);
    this.prices.set(index, merged);
  }

  /** Warehouses that can serve `countyCode` for product `code`: deterministic from (seed, code, county, stock moves). */
  stock(code: string, countyCode: string, today = new Date()): StockEntry[] {
    const index = this.indexOf(code);
    if (index === undefined || this.delisted.has(index)) return [];
    const county = hashString(countyCode);
    const base = this.product(index);
    if (base.isSales === '0' && unit(this.seed, index, county, 1) < 0.7) return [];
    const version = this.stockVersions.get(index) ?? 0;
    const count = intIn(0, 4, this.seed, index, county, 2);
    const out: StockEntry[] = [];
    for (let w = 0; w < count; w++) {
      const h = (salt: number) => hash32(this.seed, index, county, w, salt);
      const grade = w === 0 ? '0' : h(3) % 3 === 0 ? '0' : '1';
      const baseQty = h(4) % 301;
      const qty = (baseQty + version * 37) % 301;
      const hours = grade === '0' ? [24, 48][h(5) % 2]! : [48, 72, 96][h(5) % 3]!;
      const due = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + hours / 24));
      out.push({
        secCode: `${'HWJSDCGX'[h(6) % 8]}${'FRBTLMNP'[h(7) % 8]}${'RQKZ'[h(8) % 4]}${1 + (h(9) % 9)}`,
        stock: String(qty),
        warehouseGrade: grade,
        timelinessData: {
          cutTime: ['15:00', '16:00', '17:30'][h(10) % 3]!,
          achieveUserOrderCut: due.toISOString().slice(0, 10),
          hour: String(hours),
          isTranfer: grade === '1' ? '1' : '0',
        },
      });
    }
    return out;
  }

  mutate(m: Mutation): MutationResult {
    this.mutations++;
    const next = sequence(m.seed ?? hash32(this.seed, this.mutations, 0x5eed));
    const result: MutationResult = { priceChanged: [], delisted: [], added: [], stockMoved: [], imagesChanged: [] };

    for (const index of this.sample(share(m.priceChangeShare, 'priceChangeShare'), next)) {
      const p = this.product(index);
      // move the supply price by 1%..15% up or down (whole yuan), a visible change every time
      const old = p.supplyPrice ?? p.marketPrice ?? '1000.00';
      const pct = (1 + Math.floor(next() * 15)) * (next() < 0.5 ? -1 : 1);
      const moved = roundHalfUp(mul(parseDecimal(old), { units: BigInt(100 + pct), scale: 2 }), 0);
      let supply = formatScaled({ units: moved.units * 100n, scale: 2 });
      if (supply === old || moved.units < 1n) supply = formatScaled({ units: parseDecimal(old).units + 100n, scale: parseDecimal(old).scale });
      this.setPrice(p.productCode, { supplyPrice: supply });
      result.priceChanged.push(p.productCode);
    }
    for (const index of this.sample(share(m.stockMoveShare, 'stockMoveShare'), next)) {
      this.stockVersions.set(index, (this.stockVersions.get(index) ?? 0) + 1);
      result.stockMoved.push(codeOf(this.seed, index));
    }
    for (const index of this.sample(share(m.imageChangeShare, 'imageChangeShare'), next)) {
      this.imageVersions.set(index, (this.imageVersions.get(index) ?? 0) + 1);
      result.imagesChanged.push(codeOf(this.seed, index));
    }
    const toDelist = this.sample(share(m.delistShare, 'delistShare'), next);
    for (const index of toDelist) {
      this.delisted.add(index);
      result.delisted.push(codeOf(this.seed, index));
    }
    if (toDelist.length) this.delistedSorted = undefined;
    const addCount = m.addCount ?? 0;
    if (!Number.isSafeInteger(addCount) || addCount < 0) throw new Error(`addCount must be a whole number >= 0, got ${addCount}`);
    for (let k = 0; k < addCount; k++) result.added.push(codeOf(this.seed, this.total() + k));
    this.added += addCount;
    return result;
  }

  /** round(share × listed) distinct listed indices, chosen with `next` (Floyd's algorithm over listing positions). */
  private sample(s: number, next: () => number): number[] {
    const n = this.listedCount();
    const k = Math.min(n, Math.round(s * n));
    const chosen = new Set<number>();
    for (let j = n - k; j < n; j++) {
      const t = Math.floor(next() * (j + 1));
      chosen.add(chosen.has(t) ? j : t);
    }
    const positions = [...chosen].sort((a, b) => a - b);
    return positions.map((p) => this.nthListed(p));
  }
}

function share(value: number | undefined, name: string): number {
  const v = value ?? 0;
  if (!(v >= 0 && v <= 1)) throw new Error(`${name} must be between 0 and 1, got ${value}`);
  return v;
}

function countAtMost(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
