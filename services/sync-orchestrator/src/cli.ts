#!/usr/bin/env node
// The haier-sync CLI (`pnpm haier-sync …` from the repo root, `haier-sync` when installed).
// Wiring only: see src/cli/program.ts for the commands.
import { runCli } from './cli/program';

runCli(process.argv.slice(2), { out: process.stdout, err: process.stderr, env: process.env }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`haier-sync: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(70);
  },
);
