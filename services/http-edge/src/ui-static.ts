// The operator console (the @haier-sync/console package, built by `pnpm build` into its dist/):
// the edge only reads the built files from config.consoleDir, never its code. index.html answers
// "/" and every client route (no-cache, so a new build is seen at once); /assets/* are Vite's
// content-hashed files (cached for a year, immutable). Served without a key: every datum the
// console shows comes from the REST API with the operator's own key.
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Everything is bundled: no inline script or style, no CDN; images of products may be remote (https). */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The console's client routes (each answers index.html); a new page adds its first segment here. */
export const CONSOLE_ROUTES = ['runs', 'catalog', 'live', 'admin', 'ui'] as const;

/** Paths of the console itself (not audited, not rate limited): its pages, assets and favicon. */
export const CONSOLE_PATHS = new RegExp(`^/(|favicon\\.(ico|svg)|assets/.*|(${CONSOLE_ROUTES.join('|')})(/.*)?)$`);

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const NOT_BUILT = (dir: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>haier-sync console not built</title></head><body><main><h1>The operator console is not built</h1><p>No <code>index.html</code> in <code>${dir.replace(/[<>&"]/g, '')}</code>. Run <code>npx --yes pnpm@10.34.8 build</code> (pnpm build where pnpm is installed) and reload, or set <code>EDGE_CONSOLE_DIR</code> to the built console. The REST API works without it: see <a href="/api/docs">/api/docs</a>.</p></main></body></html>`;

async function fileOf(root: string, rel: string): Promise<Buffer | undefined> {
  const full = resolve(root, rel);
  if (full !== root && !full.startsWith(root + sep)) return undefined;
  try {
    if (!(await stat(full)).isFile()) return undefined;
    return await readFile(full);
  } catch {
    return undefined;
  }
}

export function registerUi(app: FastifyInstance, consoleDir: string): void {
  const root = resolve(consoleDir);
  const sendIndex = async (reply: FastifyReply) => {
    const index = await fileOf(root, 'index.html');
    void reply.header('content-security-policy', CONSOLE_CSP).header('cache-control', 'no-cache').type('text/html; charset=utf-8');
    if (!index) return reply.status(503).send(NOT_BUILT(root));
    return reply.send(index);
  };
  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_req, reply) => sendIndex(reply));
  for (const r of CONSOLE_ROUTES) {
    app.get(`/${r}`, hide, async (_req, reply) => sendIndex(reply));
    app.get(`/${r}/*`, hide, async (_req, reply) => sendIndex(reply));
  }
  const asset = (immutable: boolean) => async (rel: string, reply: FastifyReply) => {
    const body = await fileOf(root, rel);
    if (!body) return reply.status(404).type('text/plain; charset=utf-8').send(`No such console file: ${rel}. Rebuild the console (npx --yes pnpm@10.34.8 build) and reload the page.`);
    return reply
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=3600')
      .type(TYPES[extname(rel)] ?? 'application/octet-stream')
      .send(body);
  };
  app.get<{ Params: { '*': string } }>('/assets/*', hide, async (req, reply) => asset(true)(join('assets', req.params['*']), reply));
  app.get('/favicon.svg', hide, async (_req, reply) => asset(false)('favicon.svg', reply));
  app.get('/favicon.ico', hide, async (_req, reply) => asset(false)('favicon.svg', reply));
}
