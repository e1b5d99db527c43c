// Haier-looking 9-character product codes (e.g. GA0SZC00U) that map back to the catalog index in O(1):
// 2 letters (from the product group) + 7 base-36 digits of an invertible scramble of the index.

const SPACE = 36n ** 7n; // 78,364,164,096 distinct bodies
const MULTIPLIER = 1_000_000_007n; // prime, so coprime with 36^7 (= 2^14·3^14): the map is a bijection

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}

const INVERSE = modInverse(MULTIPLIER, SPACE);

function offsetFor(seed: number): bigint {
  return BigInt(seed >>> 0) * 7_919n % SPACE;
}

/** The 7-character body of the code of catalog index `index`. */
export function codeBody(seed: number, index: number): string {
  const x = (BigInt(index) * MULTIPLIER + offsetFor(seed)) % SPACE;
  return x.toString(36).toUpperCase().padStart(7, '0');
}

/** The catalog index a code body stands for, or undefined when the text is not a code body. */
export function indexOfBody(seed: number, body: string): number | undefined {
  if (!/^[0-9A-Z]{7}$/.test(body)) return undefined;
  let x = 0n;
  for (const ch of body.toLowerCase()) x = x * 36n + BigInt(parseInt(ch, 36));
  const index = (((x - offsetFor(seed)) % SPACE + SPACE) % SPACE * INVERSE) % SPACE;
  return index <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(index) : undefined;
}
