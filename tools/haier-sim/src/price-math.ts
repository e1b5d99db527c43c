// The simulator's price arithmetic (Haier's invoice price formula), exact on strings via scaled
// BigInt; money never touches a JS float. Its own on purpose: the simulator stands in for Haier,
// so it shares no parsing or arithmetic with the gateway or the catalog it is used to test.

/** A decimal as an integer mantissa and a count of fraction digits: value = units / 10^scale. */
export interface Scaled {
  units: bigint;
  scale: number;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

export function parseDecimal(text: string): Scaled {
  if (!DECIMAL.test(text)) throw new Error(`"${text}" is not a plain decimal number (expected digits with an optional fraction, e.g. 1299.00)`);
  const negative = text.startsWith('-');
  const body = negative ? text.slice(1) : text;
  const [whole = '0', frac = ''] = body.split('.');
  const units = BigInt(whole + frac);
  return { units: negative ? -units : units, scale: frac.length };
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function rescale(d: Scaled, scale: number): bigint {
  return d.units * pow10(scale - d.scale);
}

export function formatScaled(d: Scaled): string {
  const negative = d.units < 0n;
  const digits = (negative ? -d.units : d.units).toString().padStart(d.scale + 1, '0');
  const whole = digits.slice(0, digits.length - d.scale);
  const frac = d.scale > 0 ? `.${digits.slice(digits.length - d.scale)}` : '';
  return `${negative ? '-' : ''}${whole}${frac}`;
}

/** Rounds half away from zero ("half-up" in the accounting sense) to `scale` fraction digits. */
export function roundHalfUp(d: Scaled, scale: number): Scaled {
  if (d.scale <= scale) return { units: rescale(d, scale), scale };
  const divisor = pow10(d.scale - scale);
  const negative = d.units < 0n;
  const abs = negative ? -d.units : d.units;
  let q = abs / divisor;
  if ((abs % divisor) * 2n >= divisor) q += 1n;
  return { units: negative ? -q : q, scale };
}

export function mul(a: Scaled, b: Scaled): Scaled {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export function sub(a: Scaled, b: Scaled): Scaled {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) - rescale(b, scale), scale };
}

/**
 * Haier's invoice price: supplyPrice × (1 − stockRebatePolicy) − rebateMoney, exact, rounded half-up to 2 dp.
 * A non-numeric stockRebatePolicy is a rebate TYPE (COM/FHQ/BF/DTDBF), not a rate: it counts as 0.
 */
export function invoicePrice(supplyPrice: string, stockRebatePolicy: string, rebateMoney: string): string {
  const rate = isDecimal(stockRebatePolicy) ? parseDecimal(stockRebatePolicy) : { units: 0n, scale: 0 };
  const one = { units: 1n, scale: 0 };
  const raw = sub(mul(parseDecimal(supplyPrice), sub(one, rate)), parseDecimal(rebateMoney));
  return formatScaled(roundHalfUp(raw, 2));
}

/** `cents` (an integer count of 1/100) as a 2-dp decimal string. */
export function fromCents(cents: number | bigint): string {
  return formatScaled({ units: BigInt(cents), scale: 2 });
}
