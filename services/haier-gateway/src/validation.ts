// Checks of the gateway's own parameters, made before any upstream call (INVALID_ARGUMENT on
// failure). Product codes, order codes, county codes and list sizes are checked before the handler runs, by
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

export function checkChunkSize(n: number): number {
  if (n === 0) return DEFAULT_CHUNK_SIZE;
  if (n > MAX_CHUNK_SIZE) throw new InvalidInput('chunk_size', `${n} is above the maximum of ${MAX_CHUNK_SIZE}`);
  return n;
}
