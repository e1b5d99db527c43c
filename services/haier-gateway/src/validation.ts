// Checks of the callers' input, made before any upstream call (INVALID_ARGUMENT on failure).
import { dedupeCodes } from './batching';

export class InvalidInput extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'InvalidInput';
  }
}

const COUNTY = /^\d{6}$/;
/** Haier product codes are short identifiers (e.g. GA0SZC00U); anything else cannot be one. */
const PRODUCT_CODE = /^[A-Za-z0-9._-]{1,40}$/;

export const DEFAULT_CHUNK_SIZE = 500;
export const MAX_CHUNK_SIZE = 5000;

function shown(v: string, max = 60): string {
  return JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v);
}

/** Deduplicated codes (first-seen order); throws InvalidInput for an empty required list or a code that cannot be one. */
export function checkProductCodes(codes: readonly string[], field: string, { required }: { required: boolean }): string[] {
  const unique = dedupeCodes(codes);
  if (required && unique.length === 0) throw new InvalidInput(field, 'is empty: give at least one Haier product code');
  const bad = unique.find((c) => !PRODUCT_CODE.test(c));
  if (bad !== undefined) throw new InvalidInput(field, `holds ${shown(bad)}, which is not a Haier product code (letters, digits, ".", "_" or "-", at most 40)`);
  return unique;
}

export function checkStockQuery(productCode: string, countyCode: string, prefix = ''): { productCode: string; countyCode: string } {
  const code = productCode.trim();
  const county = countyCode.trim();
  if (!code) throw new InvalidInput(`${prefix}product_code`, 'is missing: give the Haier product code');
  if (!PRODUCT_CODE.test(code)) throw new InvalidInput(`${prefix}product_code`, `${shown(code)} is not a Haier product code`);
  if (!COUNTY.test(county)) throw new InvalidInput(`${prefix}county_code`, `${shown(county, 20)} is not a 6-digit national county code (e.g. 110101)`);
  return { productCode: code, countyCode: county };
}

export function checkOrderCode(orderCode: string): string {
  const c = orderCode.trim();
  if (!c) throw new InvalidInput('order_code', 'is missing: give the order code, e.g. SO.20190106.000003');
  if (c.length > 64) throw new InvalidInput('order_code', 'is longer than 64 characters: give the order code, e.g. SO.20190106.000003');
  return c;
}

export function checkChunkSize(n: number): number {
  if (n === 0) return DEFAULT_CHUNK_SIZE;
  if (n > MAX_CHUNK_SIZE) throw new InvalidInput('chunk_size', `${n} is above the maximum of ${MAX_CHUNK_SIZE}`);
  return n;
}
