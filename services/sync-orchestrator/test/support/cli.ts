// The haier-sync CLI as a child process (node --import tsx src/cli.ts), for tests that signal it
// or watch its output while it runs.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { CALLERS } from '@haier-sync/runtime';
import { testAuth } from '@haier-sync/runtime/testing';

const SERVICE_DIR = path.resolve(__dirname, '../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI and hands back the process (to signal it) and its end. */
export function cliProcess(args: string[], env: Record<string, string>) {
  // it signs its calls as "cli" (a test may override the key variables)
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...testAuth().env(CALLERS.cli), ...env };
  delete childEnv['NODE_OPTIONS'];
  const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', ...args], { cwd: SERVICE_DIR, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const io = { stdout: '', stderr: '' };
  p.stdout.on('data', (b: Buffer) => (io.stdout += b.toString()));
  p.stderr.on('data', (b: Buffer) => (io.stderr += b.toString()));
  // 'close', not 'exit': the CLI's last output may still be in its pipes when it exits
  const ended = new Promise<CliResult>((resolve) => p.once('close', (code) => resolve({ code, ...io })));
  return { p, io, ended };
}

/** Runs the CLI to its end without blocking this process (the orchestrator under test may live in it). */
export async function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 90_000): Promise<CliResult> {
  const c = cliProcess(args, env);
  let timedOut = false;
  const t = setTimeout(() => {
    timedOut = true;
    c.p.kill('SIGKILL');
  }, timeoutMs);
  const r = await c.ended;
  clearTimeout(t);
  if (timedOut) throw new Error(`haier-sync ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}
