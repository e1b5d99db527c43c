// Orderly shutdown on signals, in a real child process: a signal that arrives twice at once
// (Ctrl-C to the terminal's process group plus a supervisor's forwarded SIGTERM) still lets the
// hooks finish; a signal repeated later exits at once.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../src/testing';
import { REPEAT_SIGNAL_GRACE_MS } from '../src/shutdown';

function start(hookMs: number) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(__dirname, 'fixtures', 'slow-shutdown.ts')], {
    env: { ...process.env, HOOK_MS: String(hookMs), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  // 'close', not 'exit': its last lines may still be in the pipes when it exits
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, exited, out: () => out };
}

test('SIGINT and SIGTERM together: the hooks finish and the exit is clean', async () => {
  const p = start(1500);
  await waitFor(() => p.out().includes('ready'), { timeoutMs: 30_000, what: 'the fixture to start' });
  p.child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 50));
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
  expect(p.out()).toContain('hook done');
  expect(p.out()).toMatch(/received SIGTERM while already shutting down; still stopping in order/);
}, 60_000);

test('a signal repeated after the grace exits at once, without waiting for the hooks', async () => {
  const p = start(30_000);
  await waitFor(() => p.out().includes('ready'), { timeoutMs: 30_000, what: 'the fixture to start' });
  p.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, REPEAT_SIGNAL_GRACE_MS + 300));
  const t0 = Date.now();
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(1);
  expect(Date.now() - t0).toBeLessThan(5_000);
  expect(p.out()).not.toContain('hook done');
  expect(p.out()).toMatch(/received SIGTERM again while shutting down; exiting now/);
}, 60_000);
