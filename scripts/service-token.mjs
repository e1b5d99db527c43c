#!/usr/bin/env node
// A service token for calling a gRPC service by hand (buf curl, grpcurl; README, Quick start):
//   node scripts/service-token.mjs <caller> <package.Service>
// signed with SERVICE_AUTH_PRIVATE_KEY_FILE, else the caller's key `npm start` made under
// .data/service-auth. Valid 5 minutes, for that service only; the service's rpc-policy.json
// decides which RPCs the caller may call.
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [caller, audience] = process.argv.slice(2);
if (!caller || !audience || !/^[a-z0-9.]+\.[A-Za-z0-9]+$/.test(audience)) {
  console.error('usage: node scripts/service-token.mjs <caller> <package.Service>   e.g. sync-orchestrator haiersync.gateway.v1.HaierGatewayService');
  process.exit(64);
}
const rt = await import(pathToFileURL(join(root, 'packages', 'runtime', 'dist', 'index.js')).href);
const { loadServiceCredentials } = rt.loadServiceCredentials ? rt : rt.default;
const env = { ...process.env };
const local = join(root, '.data', 'service-auth', `${caller}.key.pem`);
if (!env.SERVICE_AUTH_PRIVATE_KEY_FILE && existsSync(local)) env.SERVICE_AUTH_PRIVATE_KEY_FILE = local;
try {
  console.log(await loadServiceCredentials(caller, env).token(audience));
} catch (err) {
  console.error(`service-token: ${err.message}`);
  process.exit(1);
}
