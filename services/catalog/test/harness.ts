// Starts the catalog on a fresh database and a real gRPC server over loopback.
import type { Client } from '@connectrpc/connect';
import { catalog } from '@haier-sync/contracts';
import { createGrpcClient, createLogger, startGrpcServer, type GrpcServer } from '@haier-sync/runtime';
import { createTestDatabase, sampleProduct, type TestDatabase } from '@haier-sync/runtime/testing';
import { Client as PgClient } from 'pg';
import { buildCatalog, type Catalog } from '../src/catalog';

export interface Harness {
  db: TestDatabase;
  cat: Catalog;
  server: GrpcServer;
  client: Client<typeof catalog.CatalogService>;
  pg: PgClient;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const db = await createTestDatabase('hs_catalog');
  const logger = createLogger('catalog-test', { level: 'silent' });
  const cat = await buildCatalog({ databaseUrl: db.url, logger, defaultCounty: '110101' });
  const server = await startGrpcServer({ service: 'catalog', port: 0, host: '127.0.0.1', routes: cat.routes, readiness: cat.readiness, errors: cat.errors, connectionLost: cat.connectionLost, logger });
  const client = createGrpcClient(catalog.CatalogService, { baseUrl: server.url });
  const pg = new PgClient({ connectionString: db.url });
  await pg.connect();
  return {
    db,
    cat,
    server,
    client,
    pg,
    async stop() {
      await pg.end();
      await server.close(1000);
      await cat.close();
      await db.drop();
    },
  };
}

/** A product as a sync sends it (runtime/testing's sampleProduct). */
export const product = sampleProduct;

export async function count(pg: PgClient, sql: string, params: unknown[] = []): Promise<number> {
  const r = await pg.query<{ n: string }>(sql, params);
  return Number(r.rows[0]?.n ?? 0);
}
