// Every package's `build` ends here: removes what dist/ holds for sources that are gone from src/
// (tsc only ever adds: when src/x.ts became the folder src/x/, a stale dist/x.js would still be
// loaded before dist/x/index.js). Files whose source exists are left alone, so a build while tests
// run the built services (the quick-start test builds mid-suite) never takes a live file away.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const OUT = /(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/;

function prune(dir, src) {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const out = join(dir, e.name);
    if (e.isDirectory()) {
      if (!existsSync(join(src, e.name))) rmSync(out, { recursive: true, force: true });
      else prune(out, join(src, e.name));
    } else if (OUT.test(e.name)) {
      const base = e.name.replace(OUT, '');
      if (!['.ts', '.tsx', '.mts', '.cts', '.js', '.json'].some((x) => existsSync(join(src, base + x)))) rmSync(out, { force: true });
    }
  }
}

prune('dist', 'src');
