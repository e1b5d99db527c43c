#!/usr/bin/env node
// `pnpm haier-sync …` from the repo root. One command for operators; each subcommand is owned
// by the service whose data it touches: `keys` by http-edge (schema edge), `migrate` by each
// service that owns a schema (its own src/migrate.ts), everything else by the sync-orchestrator
// (which talks to the running services over gRPC).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
// the CLI signs its calls as "cli": the key `npm start` made, unless SERVICE_AUTH_PRIVATE_KEY_FILE says otherwise
const cliKey = join(root, '.data', 'service-auth', 'cli.key.pem');
const env = { ...process.env };
if (!env.SERVICE_AUTH_PRIVATE_KEY_FILE && existsSync(cliKey)) env.SERVICE_AUTH_PRIVATE_KEY_FILE = cliKey;
const tsx = (file, rest) =>
  spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', join(root, file), ...rest], { stdio: 'inherit', cwd: process.cwd(), env }).status ?? 1;

// `haier-sync migrate [catalog|sync|edge …]`: each schema's pending migrations, under its lock
const SCHEMAS = { catalog: 'services/catalog/src/migrate.ts', sync: 'services/sync-orchestrator/src/migrate.ts', edge: 'services/http-edge/src/migrate.ts' };
if (args[0] === 'migrate') {
  const wanted = args.length > 1 ? args.slice(1) : Object.keys(SCHEMAS);
  const unknown = wanted.filter((s) => !(s in SCHEMAS));
  if (unknown.length) {
    process.stderr.write(`haier-sync migrate: unknown schema ${unknown.join(', ')}; give any of ${Object.keys(SCHEMAS).join(', ')} (none: all of them)\n`);
    process.exit(64);
  }
  for (const s of wanted) {
    const status = tsx(SCHEMAS[s], []);
    if (status !== 0) process.exit(status);
  }
  process.exit(0);
}
const owner = args[0] === 'keys' ? 'services/http-edge/src/cli.ts' : 'services/sync-orchestrator/src/cli.ts';
process.exit(tsx(owner, args));
