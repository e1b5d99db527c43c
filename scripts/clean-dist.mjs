// Every package's `build` starts here: removes the package's dist/ so that a file deleted or moved
// in src/ leaves no stale copy behind (tsc only ever adds; Node would still load dist/x.js before
// dist/x/index.js when src/x.ts became a folder).
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
