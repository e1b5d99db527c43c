// A haier-sync event subscriber, standalone: it depends only on the packed contracts, nats and
// @bufbuild/protobuf. It
//  1. bootstraps: reads the products bucket (the latest ProductChanged of every product) and
//     notes the highest change seq in it;
//  2. follows: a durable consumer on the CATALOG stream with explicit acks, started a minute
//     before the newest value, skipping every change the bootstrap already holds;
//  3. reacts: prints each supply-price change larger than PRICE_ALERT_PERCENT.
// Restart it and the durable consumer resumes where it acknowledged.
import { fromBinary } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { catalog, events } from '@haier-sync/contracts';
import { AckPolicy, connect, DeliverPolicy, type JsMsg } from 'nats';

const env = process.env;
const NATS_URL = env.NATS_URL ?? 'nats://127.0.0.1:4222';
// the deployment's subject prefix ("" in production); the streams and the bucket are named from it
const RAW_PREFIX = (env.NATS_SUBJECT_PREFIX ?? '').trim();
const PREFIX = RAW_PREFIX === '' || RAW_PREFIX.endsWith('.') ? RAW_PREFIX : `${RAW_PREFIX}.`;
const BASE = PREFIX === '' ? '' : `${PREFIX.slice(0, -1).toUpperCase().replace(/[^A-Z0-9_-]/g, '_')}_`;
const STREAM = `${BASE}CATALOG`;
const BUCKET = `${BASE}CATALOG_PRODUCTS`;
const DURABLE = env.DURABLE ?? 'price-alerts';
const THRESHOLD = Number(env.PRICE_ALERT_PERCENT ?? '5');
// for scripts and CI: stop after this long without a message (0 = run until Ctrl-C)
const EXIT_WHEN_IDLE_MS = Number(env.EXIT_WHEN_IDLE_MS ?? '0');

interface Known {
  version: bigint;
  supplyPrice?: string;
  listed: boolean;
}

const catalogState = new Map<string, Known>();
const remember = (ev: events.ProductChanged): void => {
  catalogState.set(ev.productCode, { version: ev.version, supplyPrice: ev.product?.supplyPrice, listed: ev.kind !== catalog.ChangeKind.DELISTED });
};

const nc = await connect({ servers: NATS_URL, name: 'haier-sync-example-subscriber' });
const js = nc.jetstream();
const jsm = await nc.jetstreamManager();

// 1. bootstrap: every key's latest value; `delta` counts what is still pending, so 0 means the
// watch has caught up with the bucket (values written meanwhile included)
const kv = await js.views.kv(BUCKET, { bindOnly: true });
let mark = 0n;
let newest = new Date(0);
if ((await jsm.streams.info(`KV_${BUCKET}`)).state.messages > 0) {
  const watch = await kv.watch({ key: '>' });
  for await (const e of watch) {
    const ev = fromBinary(events.ProductChangedSchema, e.value);
    remember(ev);
    if (ev.seq > mark) mark = ev.seq;
    if (e.created > newest) newest = e.created;
    if (e.delta === 0) break;
  }
  watch.stop();
}
const listed = [...catalogState.values()].filter((p) => p.listed).length;
console.log(`bootstrap: ${listed} products in the catalog (${catalogState.size - listed} delisted), up to change ${mark}`);

// 2. follow, with a durable consumer that acknowledges each event
const since = new Date(Math.max(0, newest.getTime() - 60_000));
try {
  await jsm.consumers.info(STREAM, DURABLE);
} catch {
  await jsm.consumers.add(STREAM, {
    durable_name: DURABLE,
    ack_policy: AckPolicy.Explicit,
    filter_subject: `${PREFIX}catalog.product.*`, // one filter per consumer on NATS 2.9
    deliver_policy: newest.getTime() > 0 ? DeliverPolicy.StartTime : DeliverPolicy.All,
    ...(newest.getTime() > 0 ? { opt_start_time: since.toISOString() } : {}),
  });
}
const consumer = await js.consumers.get(STREAM, DURABLE);
const messages = await consumer.consume({ max_messages: 100 });
console.log(`following ${STREAM} as ${DURABLE}; alerting on supply-price moves above ${THRESHOLD}%`);

let idle: NodeJS.Timeout | undefined;
const armIdle = (): void => {
  if (!EXIT_WHEN_IDLE_MS) return;
  clearTimeout(idle);
  idle = setTimeout(() => void messages.close(), EXIT_WHEN_IDLE_MS);
};
armIdle();
process.once('SIGINT', () => void messages.close());

// 3. react
/** Applies one event; false when the copy already holds it. */
function handle(m: JsMsg): boolean {
  const ev = fromBinary(events.ProductChangedSchema, m.data);
  if (ev.seq <= mark) return false; // already in the bootstrap
  const before = catalogState.get(ev.productCode);
  if (before && ev.version <= before.version) return false; // an older version than we hold
  const was = before?.supplyPrice;
  const now = ev.product?.supplyPrice;
  if (ev.kind === catalog.ChangeKind.PRICE_CHANGED && was && now && Number(was) > 0) {
    const pct = ((Number(now) - Number(was)) / Number(was)) * 100;
    if (Math.abs(pct) >= THRESHOLD) {
      const at = ev.occurredAt ? timestampDate(ev.occurredAt).toISOString() : '';
      console.log(`PRICE ${ev.productCode} ${was} -> ${now} (${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%) v${ev.version} ${at}`);
    }
  }
  remember(ev);
  return true;
}

let applied = 0;
let skipped = 0;
for await (const m of messages) {
  if (handle(m)) applied++;
  else skipped++;
  m.ack();
  armIdle();
}
clearTimeout(idle);
console.log(`stopped: ${applied} events applied, ${skipped} already held; the durable consumer ${DURABLE} resumes from here next time`);
await nc.drain();
