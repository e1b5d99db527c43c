// The edge's OpenAPI document without a database or services: buildEdgeApp() over nothing (no
// route runs; only the schemas are read). `node dist/openapi.js [file]` writes it (default: the
// committed docs/openapi.json that packages/rest-client is generated from); the document served
// at /api/docs/json is the same one.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createLogger } from '@haier-sync/runtime';
import { buildEdgeApp } from './app';
import { loadEdgeConfig } from './config';
import type { Clients } from './context';

/** The repo's committed copy of the document (packages/rest-client is generated from it). */
export const OPENAPI_FILE = resolve(__dirname, '..', '..', '..', 'docs', 'openapi.json');

export async function openapiDocument(): Promise<Record<string, unknown>> {
  const config = loadEdgeConfig({ DATABASE_URL: 'postgres://unused@127.0.0.1:1/none', EDGE_API_DOCS: 'true' });
  const app = await buildEdgeApp(config, { orm: undefined as unknown as MikroORM, logger: createLogger('http-edge', { level: 'silent' }), clients: {} as Clients });
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}

/** The document as committed: 2-space JSON with a final newline. */
export function openapiText(doc: Record<string, unknown>): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (require.main === module) {
  void openapiDocument().then(
    (doc) => {
      const out = resolve(process.argv[2] ?? OPENAPI_FILE);
      writeFileSync(out, openapiText(doc));
      process.stdout.write(`wrote ${out}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
