#!/usr/bin/env node
// `pnpm haier-sync …` from the repo root. One command for operators; each subcommand is owned
// by the service whose data it touches: `keys` by http-edge (schema edge), everything else by the
// sync-orchestrator (which talks to the running services over gRPC).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const owner = args[0] === 'keys' ? 'services/http-edge/src/cli.ts' : 'services/sync-orchestrator/src/cli.ts';
const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', join(root, owner), ...args], { stdio: 'inherit', cwd: process.cwd() });
process.exit(r.status ?? 1);
