// Lanes of the call budget: every upstream call belongs to one, and the rate gate serves them in
// priority order with a floor and a cap each (rate-gate.ts). Callers say which lane a request is
// in with the `x-haier-lane` request header (gRPC metadata): `interactive` (REST live lookups,
// per-product actions, a config's test), `scheduled` (incremental and scheduled runs; the default
// when the header is absent), `bulk` (FULL runs; the default for StreamAllProducts).
import { AsyncLocalStorage } from 'node:async_hooks';
import { HAIER_LANE_HEADER, type HaierLane } from '@haier-sync/runtime';

export type Lane = HaierLane;
/** In priority order. */
export const LANES: readonly Lane[] = ['interactive', 'scheduled', 'bulk'];
export const LANE_HEADER = HAIER_LANE_HEADER;

/** Percent of the gate's limit: a lane under its floor goes first; a lane at its cap waits. */
export interface LanePolicy {
  floorPct: number;
  capPct: number;
}
export type LanePolicies = Record<Lane, LanePolicy>;

/** Interactive calls first but at most half the budget; bulk work keeps a fifth of it. */
export const DEFAULT_LANES: LanePolicies = {
  interactive: { floorPct: 10, capPct: 50 },
  scheduled: { floorPct: 10, capPct: 100 },
  bulk: { floorPct: 20, capPct: 100 },
};

/** HAIER_LANES, e.g. "interactive=10:50,scheduled=10:100,bulk=20:100" (floor:cap percent; lanes left out keep their defaults). */
export function parseLanes(text: string | undefined): LanePolicies | { error: string } {
  const out: LanePolicies = structuredClone(DEFAULT_LANES);
  if (text === undefined || text.trim() === '') return out;
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(interactive|scheduled|bulk)=(\d{1,3}):(\d{1,3})$/.exec(part);
    if (!m) return { error: `expected lane=floor:cap in percent, lanes interactive, scheduled, bulk, such as "interactive=10:50,bulk=20:100"; got ${JSON.stringify(part)}` };
    const [floorPct, capPct] = [Number(m[2]), Number(m[3])];
    if (capPct < 1 || capPct > 100 || floorPct > capPct) return { error: `${m[1]}: the floor must be at most the cap, and the cap 1 to 100 percent; got ${JSON.stringify(part)}` };
    out[m[1] as Lane] = { floorPct, capPct };
  }
  const floors = LANES.reduce((a, l) => a + out[l].floorPct, 0);
  if (floors > 100) return { error: `the floors add up to ${floors}%, more than the whole budget` };
  return out;
}

/** The lane of the request being served (set around each RPC's work, read by the upstream client). */
export const currentLane = new AsyncLocalStorage<Lane>();

/** The lane a request asks for in its header; undefined when absent; an error text when not a lane. */
export function laneOfHeader(value: string | null): Lane | undefined | { error: string } {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  return (LANES as readonly string[]).includes(v) ? (v as Lane) : { error: `${LANE_HEADER}: expected one of ${LANES.join(', ')}, got ${JSON.stringify(value)}` };
}
