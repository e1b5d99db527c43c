// Deterministic, stateless pseudo-randomness: every value is a pure function of its inputs,
// so product i of a catalog can be generated on demand without holding the catalog.

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a list of 32-bit integers (order matters). */
export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = fmix32((h ^ fmix32(p >>> 0)) + 0x7f4a7c15);
  return h;
}

/** A 32-bit hash of a string (for codes, county codes, order codes). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/** A uniform number in [0, 1) from the hash of `parts`. */
export function unit(...parts: number[]): number {
  return hash32(...parts) / 0x1_0000_0000;
}

/** An integer in [min, max] from the hash of `parts`. */
export function intIn(min: number, max: number, ...parts: number[]): number {
  return min + Math.floor(unit(...parts) * (max - min + 1));
}

export function pick<T>(items: readonly T[], ...parts: number[]): T {
  const item = items[Math.floor(unit(...parts) * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** A small seeded sequential generator (mulberry32) for things that happen in order: faults, mutations. */
export function sequence(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
