// RunWatchHub: one upstream watch per run, shared by its followers (in memory, no I/O).
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { sync } from '@haier-sync/contracts';
import { RunWatchHub } from '../src/run-watch-hub';

const run = (n: number) => create(sync.RunSchema, { id: 'r1', message: String(n) });

/** An upstream whose updates the test pushes by hand; counts how often it was opened and aborted. */
function upstream() {
  const state = { opened: 0, aborted: 0, push: (_n: number) => {}, finish: () => {}, fail: (_e: Error) => {} };
  const resumedAfter: Array<string | undefined> = [];
  const watch = async function* (_id: string, signal: AbortSignal, last?: sync.Run) {
    state.opened++;
    resumedAfter.push(last?.message);
    const queue: Array<{ n?: number; end?: boolean; err?: Error }> = [];
    let wake: (() => void) | undefined;
    const add = (x: (typeof queue)[number]) => {
      queue.push(x);
      wake?.();
    };
    state.push = (n) => add({ n });
    state.finish = () => add({ end: true });
    state.fail = (err) => add({ err });
    signal.addEventListener('abort', () => {
      state.aborted++;
      add({ end: true });
    });
    for (;;) {
      const x = queue.shift();
      if (!x) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (x.err) throw x.err;
      if (x.end) return;
      yield run(x.n as number);
    }
  };
  return { state, watch, resumedAfter };
}

const tick = () => new Promise((r) => setImmediate(r));

async function collect(it: AsyncGenerator<sync.Run>, into: string[]): Promise<unknown> {
  try {
    for await (const r of it) into.push(r.message);
    return undefined;
  } catch (e) {
    return e;
  }
}

test('followers share one upstream watch; a late joiner gets updates from when it joined; all end with the run', async () => {
  const { state, watch } = upstream();
  const hub = new RunWatchHub(watch);
  const a: string[] = [];
  const b: string[] = [];
  const da = collect(hub.follow('r1', new AbortController().signal), a);
  await tick();
  state.push(1);
  await tick();
  const db = collect(hub.follow('r1', new AbortController().signal), b);
  await tick();
  state.push(2);
  state.finish();
  expect(await da).toBeUndefined();
  expect(await db).toBeUndefined();
  expect(a).toEqual(['1', '2']);
  expect(b).toEqual(['2']);
  expect(state.opened).toBe(1);
  expect(hub.open).toBe(0);
});

test('the upstream watch is cancelled when the last follower leaves, not before', async () => {
  const { state, watch } = upstream();
  const hub = new RunWatchHub(watch);
  const ca = new AbortController();
  const cb = new AbortController();
  const a: string[] = [];
  const b: string[] = [];
  const da = collect(hub.follow('r1', ca.signal), a);
  const db = collect(hub.follow('r1', cb.signal), b);
  await tick();
  state.push(1);
  await tick();
  ca.abort();
  await da;
  expect(state.aborted).toBe(0);
  state.push(2);
  await tick();
  cb.abort();
  await db;
  await tick();
  expect(state.aborted).toBe(1);
  expect(a).toEqual(['1']);
  expect(b).toEqual(['1', '2']);
  expect(hub.open).toBe(0);
  // a new follower opens a new watch
  const c: string[] = [];
  const dc = collect(hub.follow('r1', new AbortController().signal), c);
  await tick();
  expect(state.opened).toBe(2);
  state.finish();
  await dc;
});

test('an upstream failure reaches every follower as an error', async () => {
  const { state, watch } = upstream();
  const hub = new RunWatchHub(watch);
  const a: string[] = [];
  const b: string[] = [];
  const da = collect(hub.follow('r1', new AbortController().signal), a);
  const db = collect(hub.follow('r1', new AbortController().signal), b);
  await tick();
  state.push(1);
  state.fail(new Error('orchestrator gone'));
  expect(String(await da)).toContain('orchestrator gone');
  expect(String(await db)).toContain('orchestrator gone');
  expect(a).toEqual(['1']);
  expect(hub.open).toBe(0);
});

test('with reconnect, a broken upstream is opened again: followers hear "reconnecting" once and keep following to the run\'s end', async () => {
  let opened = 0;
  const at = (n: number, status = sync.RunStatus.PROCESSING) => create(sync.RunSchema, { id: 'r1', message: String(n), status });
  const watch = async function* () {
    opened++;
    if (opened === 1) {
      yield at(1);
      throw new ConnectError('http/2 stream closed', Code.Canceled); // the orchestrator was killed
    }
    if (opened === 2) throw new ConnectError('connect ECONNREFUSED', Code.Unavailable); // not up yet
    if (opened === 3) return; // up, but ends the watch before the run ends (shutting down)
    yield at(2);
    yield at(3, sync.RunStatus.SUCCESS);
  };
  const hub = new RunWatchHub(watch, { isFinal: (r) => r.status === sync.RunStatus.SUCCESS, pauseMs: 10 });
  const seen: string[] = [];
  const notes: string[] = [];
  for await (const r of hub.follow('r1', new AbortController().signal, (why) => notes.push(why))) seen.push(r.message);
  expect(seen).toEqual(['1', '2', '3']);
  expect(opened).toBe(4);
  expect(notes).toEqual(['http/2 stream closed']);
  expect(hub.open).toBe(0);
});

test('with reconnect, an answer about the run itself (not found) ends the followers with it', async () => {
  let opened = 0;
  const watch = async function* (): AsyncGenerator<sync.Run> {
    opened++;
    throw new ConnectError('no run r1', Code.NotFound);
  };
  const hub = new RunWatchHub(watch, { isFinal: () => false, pauseMs: 10 });
  const err = await collect(hub.follow('r1', new AbortController().signal), []);
  expect(ConnectError.from(err).code).toBe(Code.NotFound);
  expect(opened).toBe(1);
});

test('with replay, a late joiner first gets every message so far; a broken upstream is reopened with the last message it sent', async () => {
  const { state, watch, resumedAfter } = upstream();
  const hub = new RunWatchHub(watch, { isFinal: (r) => r.message === 'end', pauseMs: 10 }, { replay: true });
  const a: string[] = [];
  const b: string[] = [];
  const ca = new AbortController();
  const cb = new AbortController();
  const da = collect(hub.follow('r1', ca.signal), a);
  await tick();
  state.push(1);
  state.push(2);
  await tick();
  const db = collect(hub.follow('r1', cb.signal), b);
  await tick();
  state.fail(new ConnectError('reset', Code.Unavailable));
  await new Promise((r) => setTimeout(r, 50));
  expect(resumedAfter).toEqual([undefined, '2']);
  state.push(3);
  await tick();
  expect(a).toEqual(['1', '2', '3']);
  expect(b).toEqual(['1', '2', '3']);
  expect(state.opened).toBe(2);
  ca.abort();
  cb.abort();
  await Promise.all([da, db]);
  expect(hub.open).toBe(0);
});
