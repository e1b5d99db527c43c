#!/usr/bin/env node
// `pnpm bench [filter]`: runs every package's bench/*.bench.ts one after another (never in
// parallel: they measure the machine), prints each one's figures, and keeps them in
// bench-results/<package>-<bench>.json. Benchmarks are not tests: they report, they do not fail.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2] ?? '';
const dirs = ['packages', 'services', 'tools'].flatMap((d) => readdirSync(join(root, d)).map((p) => join(d, p)));
const benches = dirs.flatMap((d) => {
  const b = join(root, d, 'bench');
  return existsSync(b) ? readdirSync(b).filter((f) => f.endsWith('.bench.ts')).map((f) => ({ dir: d, file: f })) : [];
}).filter(({ dir, file }) => `${dir}/${file}`.includes(filter));

mkdirSync(join(root, 'bench-results'), { recursive: true });
// benchmarks that run services start them as deployed (node dist/main.js): build them first
if (benches.length) {
  console.log('building (pnpm build) so that the services run as deployed…');
  const b = spawnSync('pnpm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0) { console.error('pnpm build failed: fix the build before benchmarking'); process.exit(1); }
}
let failed = 0;
for (const { dir, file } of benches) {
  const name = `${dir.split('/')[1]}-${file.replace('.bench.ts', '')}`;
  console.log(`\n=== ${dir}/bench/${file}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', join('bench', file)], {
    cwd: join(root, dir), stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20,
  });
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) { failed++; console.error(`${name} exited with ${r.status}`); continue; }
  writeFileSync(join(root, 'bench-results', `${name}.json`), JSON.stringify({ bench: name, at: new Date().toISOString(), seconds: (Date.now() - started) / 1000, output: r.stdout }, null, 2));
}
if (!benches.length) console.log(`no benchmark matches "${filter}"`);
process.exit(failed ? 1 : 0);
