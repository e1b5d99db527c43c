// The README as a new operator reads it: every `npm run -s haier-sync -- …` line of its shell
// blocks runs as written (bash, from the repo root) against a real stack whose simulator has its
// default catalog (the one `npm start` serves), and exits 0; every product code, category and
// brand its examples and the CLI's help name exists in that catalog; no link leaves the repo.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { closeGrpcClients } from '@haier-sync/runtime';
import { CALLERS } from '@haier-sync/runtime';
import { TEST_NATS_URL, testAuth } from '@haier-sync/runtime/testing';
import { startStack, type Stack } from './stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
jest.setTimeout(300_000);

/** The lines of the README's ```sh blocks. */
function shellLines(md: string): string[] {
  return [...md.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n').map((l) => l.trim()).filter((l) => l !== ''));
}

const CLI_LINES = shellLines(README).filter((l) => l.startsWith('npm run -s haier-sync -- '));
const CODE = /\b[A-Z]{2}[0-9A-Z]{7}\b/g;

describe('README', () => {
  let stack: Stack;

  beforeAll(async () => {
    // the simulator's defaults: the catalog `npm start` serves
    stack = await startStack({ sim: { rateLimit: 0 }, env: { SYNC_PUBLISHER_ENABLED: 'true' } });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    closeGrpcClients();
  });

  test('has CLI examples to run', () => {
    expect(CLI_LINES.length).toBeGreaterThanOrEqual(5);
  });

  test('every product code, category and brand in its examples and in the CLI help exists in the simulator', async () => {
    const listed = stack.sim.control.products(0, 5000).filter((p) => p.listed);
    const codes = new Set(listed.map((p) => p.productCode));
    const categories = new Set(listed.map((p) => p.productGroupNamd ?? ''));
    const brands = new Set(listed.map((p) => p.productBrandName ?? ''));
    const help = (await run(process.execPath, ['scripts/haier-sync.mjs', 'sync', '--help'], { cwd: ROOT })).stdout;
    const examples = [...shellLines(README), ...help.split('\n').filter((l) => l.trim().startsWith('haier-sync '))];
    const named = examples.flatMap((l) => [...l.matchAll(CODE)].map((m) => m[0]));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((c) => !codes.has(c))).toEqual([]);
    for (const l of examples) {
      for (const m of l.matchAll(/--category\s+("[^"]+"|\S+)/g)) expect(categories).toContain(m[1]!.replace(/"/g, ''));
      for (const m of l.matchAll(/--brand\s+("[^"]+"|\S+)/g)) expect(brands).toContain(m[1]!.replace(/"/g, ''));
    }
  });

  test('every `npm run -s haier-sync -- …` line runs as written and exits 0', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // the CLI signs as "cli" with this test's key set (the stack trusts it), as it would with .data/'s under npm start
      ...testAuth().env(CALLERS.cli),
      SYNC_URL: stack.orch!.url,
      CATALOG_URL: stack.catalogProcess.url,
      NATS_URL: TEST_NATS_URL,
      NATS_SUBJECT_PREFIX: stack.prefix,
      HAIER_SYNC_USER: 'readme',
    };
    delete env['NODE_OPTIONS'];
    for (const line of CLI_LINES) {
      const r = await run('bash', ['-c', line], { cwd: ROOT, env, timeout: 120_000 }).then(
        (x) => ({ code: 0, ...x }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
      );
      expect({ line, code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-1500) }).toEqual({ line, code: 0, stderr: '' });
      expect(r.stderr).not.toContain('unexpected error');
    }
  });

  test('no link leaves the repository: every relative link of README.md, docs/ and examples/ names a file in it', () => {
    const docs = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'examples/subscriber/README.md'];
    const broken: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(path.join(ROOT, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z]+:/i.test(target)) continue; // an anchor, or a URL
        const resolved = path.resolve(path.dirname(path.join(ROOT, doc)), target);
        if (!resolved.startsWith(ROOT + path.sep) || !existsSync(resolved)) broken.push(`${doc}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
