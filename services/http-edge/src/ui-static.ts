// The operator console (ui/index.html + ui/app.js): two static files served without auth; every
// datum it shows comes from the REST API with the operator's own API key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const UI_DIR = join(__dirname, '..', 'ui');
const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none'";

export function registerUi(app: FastifyInstance): void {
  const index = readFileSync(join(UI_DIR, 'index.html'));
  const script = readFileSync(join(UI_DIR, 'app.js'));
  const send = (type: string, body: Buffer) => ({ type, body });
  const files = { html: send('text/html; charset=utf-8', index), js: send('text/javascript; charset=utf-8', script) };
  for (const url of ['/', '/ui']) {
    app.get(url, { schema: { hide: true } }, async (_req, reply) =>
      reply.header('content-security-policy', CSP).header('cache-control', 'no-cache').type(files.html.type).send(files.html.body),
    );
  }
  app.get('/ui/app.js', { schema: { hide: true } }, async (_req, reply) =>
    reply.header('cache-control', 'no-cache').type(files.js.type).send(files.js.body),
  );
}
