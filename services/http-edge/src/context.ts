// What every route module gets: the service clients, the stores and the logger.
import type { Client } from '@connectrpc/connect';
import type { catalog, gateway, sync } from '@haier-sync/contracts';
import type { Logger } from '@haier-sync/runtime';
import type { AuditStore } from './db/audit-store';
import type { KeyStore } from './db/key-store';
import type { Authenticator } from './auth';
import type { CallBudget } from './call-budget';
import type { Role } from './domain/api-keys';
import type { ImageStore } from '@haier-sync/runtime/image-store';

export interface Clients {
  gateway: Client<typeof gateway.HaierGatewayService>;
  catalog: Client<typeof catalog.CatalogService>;
  sync: Client<typeof sync.SyncService>;
}

export interface EdgeContext {
  clients: Clients;
  keys: KeyStore;
  audit: AuditStore;
  auth: Authenticator;
  /** What each key may spend of the Haier budget on live lookups (call-budget.ts). */
  callBudget: CallBudget;
  /** Where mirrored product images are read from (the store the gateway writes). */
  images: ImageStore;
  /** How long a redirect to a presigned S3 URL stays valid. */
  imageUrlTtlS: number;
  logger: Logger;
}

export interface AuthInfo {
  name: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role that may call the route; unset = public. */
    role?: Role;
    /** Its answers' Cache-Control (default `no-store`); catalog reads may be kept and revalidated. */
    cacheControl?: string;
  }
  interface FastifyRequest {
    auth: AuthInfo | null;
  }
}
