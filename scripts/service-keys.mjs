#!/usr/bin/env node
// Makes the service-authentication keys (README, Service authentication) for a deployment:
//   node scripts/service-keys.mjs [dir]      (default .data/service-auth; build first)
// an Ed25519 key pair per caller (http-edge, sync-orchestrator, cli) under dir, public keys in
// dir/trusted; keys already there are kept. Prints the kubectl commands that put them into the
// Secrets deploy/k8s mounts.
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = resolve(process.argv[2] ?? join(root, '.data', 'service-auth'));
const rt = await import(pathToFileURL(join(root, 'packages', 'runtime', 'dist', 'index.js')).href);
const { ensureServiceKeys, CALLERS } = rt.ensureServiceKeys ? rt : rt.default;
const files = ensureServiceKeys(dir, Object.values(CALLERS));
console.log(`Service keys in ${dir} (private keys mode 0600; public keys in ${files.trustedDir}).`);
console.log('For deploy/k8s (namespace haier-sync):');
console.log(`  kubectl -n haier-sync create secret generic service-auth-trusted --from-file=${files.trustedDir}`);
for (const caller of [CALLERS.edge, CALLERS.orchestrator]) {
  console.log(`  kubectl -n haier-sync create secret generic service-auth-${caller} --from-file=key.pem=${files.privateKeyFile[caller]}`);
}
console.log(`The cli key (${files.privateKeyFile[CALLERS.cli]}) stays with the operator: SERVICE_AUTH_PRIVATE_KEY_FILE for the CLI.`);
