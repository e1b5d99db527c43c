// A typed client of the edge's REST API: openapi-fetch over the types openapi-typescript
// generated from docs/openapi.json (src/schema.d.ts; `pnpm --filter @haier-sync/rest-client
// generate`). Paths, parameters and answers are checked at compile time against that document.
import createClient, { type Client } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { components, operations, paths };
export type RestClient = Client<paths>;

export interface RestClientOptions {
  /** The edge's address, e.g. http://127.0.0.1:8080 (no path). */
  baseUrl: string;
  /** An API key, sent as `Authorization: Bearer <key>`; none for the open routes. */
  apiKey?: string;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

export function createRestClient({ baseUrl, apiKey, fetch: f }: RestClientOptions): RestClient {
  return createClient<paths>({ baseUrl: baseUrl.replace(/\/+$/, ''), headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, ...(f ? { fetch: f } : {}) });
}
