// Checks of the gateway's own parameters, made before any upstream call (INVALID_ARGUMENT on
// failure). Product codes, county codes and list sizes are checked before the handler runs, by
// the rulebook (@haier-sync/contracts rules, through the server's validation interceptor).

export class InvalidInput extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'InvalidInput';
  }
}

export const DEFAULT_CHUNK_SIZE = 500;
export const MAX_CHUNK_SIZE = 5000;

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
