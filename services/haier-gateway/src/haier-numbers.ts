// Haier's numbers as they arrive: money, rates and quantities come as JSON number tokens (kept
// as their verbatim text by the lossless parsers) or as strings; this reads them as exact text,
// never a float. Not the catalog's stored form (that is the catalog's stored-decimal.ts): the
// gateway keeps Haier's digits ("0.030" stays "0.030") and only writes exponents out.
import { isLosslessNumber } from 'lossless-json';

const PLAIN = /^([+-]?)(\d+)(?:\.(\d+))?$/;
const EXPONENT = /^([+-]?)(\d+)(?:\.(\d*))?[eE]([+-]?\d+)$/;

/** The text of a scalar JSON value: strings as-is, number tokens verbatim; anything else undefined. */
export function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isLosslessNumber(v)) return v.value;
  return undefined;
}

/**
 * A Haier decimal as plain digits: trims, drops a leading "+", and writes an exponent
 * form (Java's BigDecimal may print "1E+3") out in plain digits — exactly, by moving the point.
 * Returns undefined when the text is not a decimal number.
 */
export function plainDecimal(raw: string): string | undefined {
  const text = raw.trim();
  const plain = PLAIN.exec(text);
  if (plain) {
    const [, sign, int, frac] = plain;
    return `${sign === '-' ? '-' : ''}${int}${frac !== undefined ? `.${frac}` : ''}`;
  }
  const exp = EXPONENT.exec(text);
  if (!exp) return undefined;
  const [, sign, int = '', frac = '', e = '0'] = exp;
  const shift = Number(e);
  if (!Number.isSafeInteger(shift) || Math.abs(shift) > 1000) return undefined;
  let digits = int + frac;
  let point = int.length + shift; // position of the decimal point within `digits`
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits;
    point = 1;
  } else if (point > digits.length) {
    digits = digits + '0'.repeat(point - digits.length);
  }
  let intPart = digits.slice(0, point).replace(/^0+(?=\d)/, '');
  const fracPart = digits.slice(point);
  if (intPart === '') intPart = '0';
  return `${sign === '-' ? '-' : ''}${intPart}${fracPart ? `.${fracPart}` : ''}`;
}

/** A whole number from text such as "30", 30 or "30.000"; undefined when not a whole number. */
export function parseWholeNumber(raw: string): bigint | undefined {
  const d = plainDecimal(raw);
  if (d === undefined) return undefined;
  const [int, frac] = d.split('.');
  if (frac !== undefined && /[^0]/.test(frac)) return undefined;
  return BigInt(int ?? '0');
}
