// Creates or updates the CATALOG and SYNC streams with the dedupe window and limits from the
// environment. Idempotent: an existing stream whose settings already match is left alone.
import { nanos, RetentionPolicy, StorageType, type NatsConnection, type StreamConfig } from 'nats';
import { productsBucket, streamSpecs, type StreamSpec } from './subjects';

export interface StreamLimits {
  /** Subject prefix ("" in production, "t_x7." in tests). */
  prefix: string;
  /** Nats-Msg-Id dedupe window, seconds (NATS_DUPLICATE_WINDOW_S, default 600). */
  duplicateWindowS: number;
  /** Message age limit, hours; 0 = unlimited (NATS_MAX_AGE_H, default 168). */
  maxAgeH: number;
  /** Byte limit per stream; -1 = unlimited (NATS_MAX_BYTES). */
  maxBytes: number;
}

export type StreamAction = 'created' | 'updated' | 'unchanged';

export interface EnsuredStreams {
  catalog: { name: string; action: StreamAction };
  sync: { name: string; action: StreamAction };
  /** The products KV bucket (latest ProductChanged per product). */
  products: { name: string; action: 'created' | 'unchanged' };
}

/** JetStream's error code for "stream not found" (the API error nats.js attaches as `api_error`). */
const STREAM_NOT_FOUND = 10059;

/** A JetStream "stream not found", by its error code (not its English message). */
export function isNotFound(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; code?: string };
  return e?.api_error?.err_code === STREAM_NOT_FOUND || e?.code === '404';
}

/** The settings we own on a stream (what `ensureStreams` creates and keeps in step). */
export function desiredConfig(spec: StreamSpec, limits: StreamLimits): Partial<StreamConfig> & { name: string } {
  const maxAge = limits.maxAgeH > 0 ? nanos(limits.maxAgeH * 3_600_000) : 0;
  let dupe = nanos(limits.duplicateWindowS * 1000);
  // NATS refuses a dedupe window longer than the age limit
  if (maxAge > 0 && dupe > maxAge) dupe = maxAge;
  return {
    name: spec.name,
    subjects: spec.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: dupe,
    max_age: maxAge,
    max_bytes: limits.maxBytes,
  };
}

function differs(current: Partial<StreamConfig>, want: Partial<StreamConfig>): boolean {
  const subjects = (s?: string[]) => [...(s ?? [])].sort().join(',');
  return (
    subjects(current.subjects) !== subjects(want.subjects) ||
    current.duplicate_window !== want.duplicate_window ||
    current.max_age !== want.max_age ||
    current.max_bytes !== want.max_bytes
  );
}

async function ensureOne(nc: NatsConnection, spec: StreamSpec, limits: StreamLimits): Promise<StreamAction> {
  const jsm = await nc.jetstreamManager();
  const want = desiredConfig(spec, limits);
  try {
    const info = await jsm.streams.info(spec.name);
    if (!differs(info.config, want)) return 'unchanged';
    // storage and retention cannot change on an existing stream: update only what may
    const { name, storage: _s, retention: _r, ...update } = want;
    await jsm.streams.update(name, update);
    return 'updated';
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(want);
    return 'created';
  }
}

/** The stream under a KV bucket (the KV protocol's naming). */
export const bucketStream = (bucket: string): string => `KV_${bucket}`;

/**
 * The products bucket: one value per product (history 1), kept on file without an age limit, so
 * it holds the whole catalog however old the stream's messages get.
 */
async function ensureProductsBucket(nc: NatsConnection, prefix: string): Promise<'created' | 'unchanged'> {
  const bucket = productsBucket(prefix);
  const jsm = await nc.jetstreamManager();
  const exists = await jsm.streams.info(bucketStream(bucket)).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw err;
    },
  );
  if (exists) return 'unchanged';
  await nc.jetstream().views.kv(bucket, { history: 1, storage: StorageType.File, description: 'haier-sync: the latest ProductChanged of every product (docs/events.md)' });
  return 'created';
}

/** Creates (or updates the limits of) the CATALOG and SYNC streams for the prefix, and the products bucket. */
export async function ensureStreams(nc: NatsConnection, limits: StreamLimits): Promise<EnsuredStreams> {
  const specs = streamSpecs(limits.prefix);
  return {
    catalog: { name: specs.catalog.name, action: await ensureOne(nc, specs.catalog, limits) },
    sync: { name: specs.sync.name, action: await ensureOne(nc, specs.sync, limits) },
    products: { name: productsBucket(limits.prefix), action: await ensureProductsBucket(nc, limits.prefix) },
  };
}

/** Deletes the two streams and the products bucket of a prefix (tests clean up with this). Missing ones are fine. */
export async function deleteStreams(nc: NatsConnection, prefix: string): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const specs = streamSpecs(prefix);
  for (const name of [specs.catalog.name, specs.sync.name, bucketStream(productsBucket(prefix))]) {
    try {
      await jsm.streams.delete(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
