// Decimals as the catalog stores them (money and rates in numeric(20,4)): one canonical text per
// value, checked to fit the column; compared by value ("12.50" == "12.5"); arithmetic uses
// BigInt on values scaled by 10^SCALE. Never a float.

/** Fraction digits stored (Postgres numeric(20,4)). */
export const SCALE = 4;
/** Integer digits that fit numeric(20,4). */
export const MAX_INTEGER_DIGITS = 16;

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;

export class DecimalError extends Error {}

/**
 * Canonical text of a decimal: no leading zeros, no trailing fraction zeros, no "+", "-0" -> "0".
 * Throws DecimalError when the text is not a plain decimal that fits numeric(20,4).
 */
export function canonicalDecimal(text: string): string {
  const t = text.trim();
  const m = DECIMAL_RE.exec(t);
  if (!m || (!m[2] && !m[3]) || t === '.' || t.endsWith('.') && !m[2]) {
    throw new DecimalError(`"${text}" is not a decimal number (expected digits with an optional "." fraction, e.g. "1299.50")`);
  }
  const sign = m[1] === '-' ? '-' : '';
  const intPart = (m[2] ?? '').replace(/^0+/, '') || '0';
  const fracPart = (m[3] ?? '').replace(/0+$/, '');
  if (fracPart.length > SCALE) {
    throw new DecimalError(`"${text}" has more than ${SCALE} decimal places`);
  }
  if (intPart.length > MAX_INTEGER_DIGITS) {
    throw new DecimalError(`"${text}" is too large (at most ${MAX_INTEGER_DIGITS} digits before the decimal point)`);
  }
  if (intPart === '0' && fracPart === '') return '0';
  return `${sign}${intPart}${fracPart ? `.${fracPart}` : ''}`;
}

/** Normalises a value read back from Postgres (e.g. "12.5000"), keeping null. */
export function canonicalOrNull(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  return canonicalDecimal(String(text));
}

/** The decimal multiplied by 10^SCALE, as an exact BigInt. */
export function toScaled(text: string): bigint {
  const canon = canonicalDecimal(text);
  const neg = canon.startsWith('-');
  const [i, f = ''] = (neg ? canon.slice(1) : canon).split('.');
  const v = BigInt(i ?? '0') * 10n ** BigInt(SCALE) + BigInt((f + '0'.repeat(SCALE)).slice(0, SCALE));
  return neg ? -v : v;
}

/** Inverse of toScaled, canonical text. */
export function fromScaled(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const base = 10n ** BigInt(SCALE);
  const i = a / base;
  const f = (a % base).toString().padStart(SCALE, '0').replace(/0+$/, '');
  const s = `${i}${f ? `.${f}` : ''}`;
  return neg && s !== '0' ? `-${s}` : s;
}

export function decimalEquals(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  // same text is the same value (the common case: both canonical); otherwise compare by value
  return a === b || toScaled(a) === toScaled(b);
}

export function compareDecimals(a: string, b: string): number {
  const x = toScaled(a);
  const y = toScaled(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
