// `haier-sync keys create --name NAME --role ROLE | list | revoke NAME` (schema edge, DATABASE_URL).
// The key made by `create` is printed once; only its hash is stored.
import { Command, InvalidArgumentError } from 'commander';
import { env, loadConfig, redact } from '@haier-sync/runtime';
import { z } from 'zod';
import { KeyStore, KeyStoreError } from './db/key-store';
import { initOrm, migrate } from '@haier-sync/runtime/orm';
import { EDGE_SCHEMA } from './db/orm';
import { isRole, ROLES, type Role } from './domain/api-keys';

const cliEnv = z.object({ DATABASE_URL: env.url('postgres://postgres@127.0.0.1:5432/haier_sync') });

async function withStore<T>(fn: (keys: KeyStore) => Promise<T>): Promise<T> {
  const { DATABASE_URL } = loadConfig(cliEnv, process.env);
  const orm = await initOrm(EDGE_SCHEMA, { databaseUrl: DATABASE_URL, poolMax: 2 });
  try {
    await migrate(orm, EDGE_SCHEMA);
    return await fn(new KeyStore(orm));
  } finally {
    await orm.close(true);
  }
}

function role(v: string): Role {
  if (!isRole(v)) throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}`);
  return v;
}

export function buildCli(out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), opts: { throwOnError?: boolean } = {}): Command {
  const program = new Command('haier-sync').description('haier-sync operator commands');
  // set before the subcommands are added, so they inherit it (tests: throw instead of exiting)
  if (opts.throwOnError) program.exitOverride().configureOutput({ writeErr: () => undefined });
  const keys = program.command('keys').description('API keys of the REST edge (roles: viewer, operator, admin)');
  keys
    .command('create')
    .description('make a key; it is printed once, only its hash is stored')
    .requiredOption('--name <name>', 'who or what holds the key, e.g. shop-frontend')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, role)
    .action(async (o: { name: string; role: Role }) => {
      const made = await withStore((k) => k.create(o.name, o.role));
      out(`Created ${made.info.role} key "${made.info.name}". Store it now, it is not shown again:`);
      out(made.key);
    });
  keys
    .command('list')
    .description('list keys (names, roles, prefixes, use; never the keys)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const list = await withStore((k) => k.list());
      if (o.json) return out(JSON.stringify(list, null, 2));
      if (list.length === 0) return out('No API keys yet: `haier-sync keys create --name NAME --role admin`.');
      out(['NAME', 'ROLE', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'].join('\t'));
      for (const k of list) out([k.name, k.role, k.prefix, k.created_at, k.last_used_at ?? '-', k.revoked_at ?? '-'].join('\t'));
    });
  keys
    .command('revoke')
    .description('revoke a key by name (it answers 401 from then on)')
    .argument('<name>', 'the key name, as `keys list` shows it')
    .action(async (name: string) => {
      const info = await withStore((k) => k.revoke(name));
      out(`Revoked key "${info.name}" (${info.role}) at ${info.revoked_at}.`);
    });
  return program;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      const msg = err instanceof KeyStoreError ? err.message : `keys: ${redact(err instanceof Error ? err.message : String(err))}`;
      process.stderr.write(`${msg}\n`);
      process.exit(1);
    });
}
