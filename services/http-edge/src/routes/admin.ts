// Admin: API keys (create — the key is shown once —, list, revoke) and the audit log.
import type { FastifyInstance } from 'fastify';
import type { EdgeContext } from '../context';
import { KeyStoreError } from '../db/key-store';
import { ROLES, type Role } from '../domain/api-keys';
import { badRequest, EdgeError, loggableError } from '../domain/errors';
import { dataAnswer, errors, keyInfoSchema, listAnswer, moreFields, noQuery, totalField } from '../schemas';

const KEY_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';

function keyError(e: unknown): never {
  if (e instanceof KeyStoreError) {
    if (e.code === 'NOT_FOUND') throw new EdgeError(404, 'NOT_FOUND', e.message);
    if (e.code === 'ALREADY_EXISTS') throw new EdgeError(409, 'ALREADY_EXISTS', e.message, 'name');
    throw new EdgeError(400, 'INVALID_ARGUMENT', e.message, 'key');
  }
  throw e;
}

interface AuditQuery {
  key_name?: string;
  method?: string;
  path?: string;
  status?: number;
  writes_only?: boolean;
  since?: string;
  until?: string;
  cursor?: string;
  limit?: number;
}

export function adminRoutes(app: FastifyInstance, ctx: EdgeContext): void {
  app.get(
    '/api/haier/me/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['admin'],
        operationId: 'getMe', summary: "Who this API key is (name, role) and the server's settings a client offers as defaults (SYNC_COUNTIES)",
        querystring: noQuery,
        response: dataAnswer({
          type: 'object',
          properties: {
            name: { type: 'string' },
            role: { type: 'string', enum: [...ROLES] },
            sync_counties: { type: 'array', items: { type: 'string' }, description: 'the counties a FULL run syncs stock for (SYNC_COUNTIES)' },
          },
        }),
      },
    },
    async (req) => {
      // who the key is does not depend on the orchestrator: without it, no counties (the console asks for them)
      const settings = await ctx.clients.sync.getSettings({}).catch((err: unknown) => {
        ctx.logger.warn({ err: loggableError(err) }, 'GET /api/haier/me/: could not read the orchestrator settings (SYNC_COUNTIES); answering without them.');
        return undefined;
      });
      return { success: true, data: { name: req.auth?.name ?? '', role: req.auth?.role ?? 'viewer', sync_counties: settings?.syncCounties ?? [] } };
    },
  );

  app.get(
    '/api/haier/keys/',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['admin'],
        operationId: 'listKeys', summary: 'API keys (names, roles, prefixes; never the keys)',
        response: listAnswer(keyInfoSchema, totalField),
      },
    },
    async () => {
      const keys = await ctx.keys.list();
      return { success: true, count: keys.length, total: keys.length, results: keys };
    },
  );

  app.post<{ Body: { name: string; role: Role } }>(
    '/api/haier/keys/',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['admin'],
        operationId: 'createKey', summary: 'Create an API key; the answer holds the key, shown this once only',
        body: {
          type: 'object',
          properties: { name: { type: 'string', pattern: KEY_NAME_PATTERN }, role: { type: 'string', enum: [...ROLES] } },
          required: ['name', 'role'],
          additionalProperties: false,
        },
        response: {
          201: { type: 'object', properties: { success: { type: 'boolean' }, key: { type: 'string' }, data: keyInfoSchema, message: { type: 'string' } } },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const made = await ctx.keys.create(req.body.name, req.body.role).catch(keyError);
      return reply.status(201).send({ success: true, key: made.key, data: made.info, message: 'Store this key now: it is not shown again.' });
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/haier/keys/:name/',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['admin'],
        operationId: 'revokeKey', summary: 'Revoke an API key by name (it answers 401 from then on)',
        params: { type: 'object', properties: { name: { type: 'string', pattern: KEY_NAME_PATTERN } }, required: ['name'], additionalProperties: false },
        response: dataAnswer(keyInfoSchema),
      },
    },
    async (req) => {
      if (req.params.name === req.auth?.name) {
        const admins = (await ctx.keys.list()).filter((k) => k.role === 'admin' && !k.revoked_at);
        if (admins.length <= 1) throw new EdgeError(409, 'LAST_ADMIN', 'This is the only active admin key; create another admin key before revoking it.');
      }
      const info = await ctx.keys.revoke(req.params.name).catch(keyError);
      ctx.auth.invalidate();
      return { success: true, data: info };
    },
  );

  const auditItem = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      at: { type: 'string' },
      key_name: { type: ['string', 'null'] },
      method: { type: 'string' },
      path: { type: 'string' },
      params: { type: 'object', additionalProperties: true },
      status: { type: 'integer' },
      duration_ms: { type: 'number' },
      ip: { type: 'string' },
    },
  } as const;

  app.get<{ Querystring: AuditQuery }>(
    '/api/haier/audit/',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['admin'],
        operationId: 'listAudit', summary: 'The audit log of REST calls, newest first',
        querystring: {
          type: 'object',
          properties: {
            key_name: { type: 'string', maxLength: 64 },
            method: { type: 'string', enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'get', 'post', 'put', 'patch', 'delete'] },
            path: { type: 'string', maxLength: 500, description: 'Path prefix, e.g. /api/haier/sync/' },
            status: { type: 'integer', minimum: 100, maximum: 599 },
            writes_only: { type: 'boolean', default: false, description: 'true: only the calls that change something (POST, PUT, PATCH, DELETE), not the reads (such as the console polling)' },
            since: { type: 'string', format: 'date-time' },
            until: { type: 'string', format: 'date-time' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: { type: 'string', pattern: '^[1-9][0-9]{0,17}$', description: 'pass the next_cursor of the previous page unchanged' },
          },
          additionalProperties: false,
        },
        response: listAnswer(auditItem, moreFields),
      },
    },
    async (req) => {
      const q = req.query;
      const d = (field: string, v?: string) => {
        if (!v) return undefined;
        const t = new Date(v);
        if (Number.isNaN(t.getTime())) throw badRequest(field, 'is not a date-time such as 2026-01-31T00:00:00Z');
        return t;
      };
      return ctx.audit.query({ key_name: q.key_name, method: q.method, path: q.path, status: q.status, writesOnly: q.writes_only === true, since: d('since', q.since), until: d('until', q.until), beforeId: q.cursor, limit: q.limit ?? 100 });
    },
  );
}
