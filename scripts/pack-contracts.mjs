#!/usr/bin/env node
// prepack/postpack of @haier-sync/contracts: the tarball carries the .proto sources beside the
// generated code (packages/contracts/proto/, a copy of /proto without buf's config), so a
// subscriber in another language can generate from the exact files the JS was made from.
// `--clean` removes the copy again (it is not committed).
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'packages/contracts/proto');
rmSync(target, { recursive: true, force: true });
if (!process.argv.includes('--clean')) {
  cpSync(join(root, 'proto'), target, { recursive: true, filter: (src) => !/buf\.(gen\.)?yaml$/.test(src) });
}
