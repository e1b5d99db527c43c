// Haier configs (admin): list, create, update, delete, test (does it authenticate?) and activate.
// Secrets are referenced by environment-variable name (`*_env` keys); any value that still looks
// like a secret is masked on the way out.
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { sync } from '@haier-sync/contracts';
import { SETTINGS_MASK, maskSecretSettings } from '@haier-sync/runtime';
import type { FastifyInstance } from 'fastify';
import type { EdgeContext } from '../context';
import { EdgeError } from '../domain/errors';
import { iso } from '../domain/run-view';
import { configIdParam, configSchema, dataAnswer, errors, listAnswer, successMessage, totalField } from '../schemas';

export const MASK = SETTINGS_MASK;

/** A settings document fit to answer: the same masking the orchestrator's GetConfig applies. */
export function maskSettings(v: JsonValue | undefined): JsonValue {
  return maskSecretSettings(v ?? null);
}

export function configOut(c: sync.HaierConfig) {
  return {
    id: Number(c.id),
    name: c.name,
    environment: c.environment,
    settings: maskSettings(c.settings ?? {}) as JsonObject,
    active: c.active,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

const bodySchema = (required: string[]) =>
  ({
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]+$' },
      environment: { type: 'string', minLength: 1, maxLength: 50, pattern: '^[A-Za-z0-9._-]+$', description: 'e.g. test, pre-production, production' },
      settings: {
        type: 'object',
        maxProperties: 100,
        additionalProperties: true,
        description: 'base_url, token_url, customer_code, ... and *_env keys naming the environment variables that hold secrets (never the secrets)',
      },
    },
    required,
    additionalProperties: false,
  }) as const;

const one = (status = 200) => dataAnswer(configSchema, {}, status);

interface ConfigBody {
  name?: string;
  environment?: string;
  settings?: JsonObject;
}

export function configRoutes(app: FastifyInstance, ctx: EdgeContext): void {
  const client = ctx.clients.sync;
  const idOf = (id: string) => BigInt(id);
  const must = (c: sync.HaierConfig | undefined, id: number | string): sync.HaierConfig => {
    if (!c) throw new EdgeError(404, 'NOT_FOUND', `No Haier config ${id}; list them at /api/haier/config/.`);
    return c;
  };

  app.get(
    '/api/haier/config/',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['config'],
        operationId: 'listConfigs', summary: 'Haier configs (secrets masked)',
        response: listAnswer(configSchema, totalField),
      },
    },
    async () => {
      const r = await client.listConfigs({});
      return { success: true, count: r.configs.length, total: r.configs.length, results: r.configs.map(configOut) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/haier/config/:id/',
    { config: { role: 'admin' }, schema: { tags: ['config'], operationId: 'getConfig', summary: 'One Haier config (secrets masked)', params: configIdParam, response: one() } },
    async (req) => ({ success: true, data: configOut(must((await client.getConfig({ id: idOf(req.params.id) })).config, req.params.id)) }),
  );

  app.post<{ Body: ConfigBody }>(
    '/api/haier/config/',
    { config: { role: 'admin' }, schema: { tags: ['config'], operationId: 'createConfig', summary: 'Create a Haier config (inactive until activated)', body: bodySchema(['name', 'environment']), response: one(201) } },
    async (req, reply) => {
      const r = await client.createConfig({ name: req.body.name ?? '', environment: req.body.environment ?? '', settings: req.body.settings ?? {} });
      const c = must(r.config, 0);
      return reply.status(201).header('location', `/api/haier/config/${c.id}/`).send({ success: true, data: configOut(c) });
    },
  );

  const update = async (id: string, b: ConfigBody) => {
    const r = await client.updateConfig({ id: idOf(id), name: b.name ?? '', environment: b.environment ?? '', settings: b.settings });
    return { success: true, data: configOut(must(r.config, id)) };
  };
  app.put<{ Params: { id: string }; Body: ConfigBody }>(
    '/api/haier/config/:id/',
    { config: { role: 'admin' }, schema: { tags: ['config'], operationId: 'replaceConfig', summary: 'Replace a Haier config', params: configIdParam, body: bodySchema(['name', 'environment', 'settings']), response: one() } },
    async (req) => update(req.params.id, req.body),
  );
  app.patch<{ Params: { id: string }; Body: ConfigBody }>(
    '/api/haier/config/:id/',
    { config: { role: 'admin' }, schema: { tags: ['config'], operationId: 'updateConfig', summary: 'Change some fields of a Haier config', params: configIdParam, body: bodySchema([]), response: one() } },
    async (req) => update(req.params.id, req.body),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/haier/config/:id/',
    { config: { role: 'admin' }, schema: { tags: ['config'], operationId: 'deleteConfig', summary: 'Delete a Haier config (not the active one)', params: configIdParam, response: { 204: { type: 'null' }, ...errors } } },
    async (req, reply) => {
      await client.deleteConfig({ id: idOf(req.params.id) });
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/haier/config/:id/test/',
    { config: { role: 'admin' }, schema: { tags: ['config'], operationId: 'testConfig', summary: 'Does this config authenticate with Haier? → {success, message}', params: configIdParam, response: { 200: successMessage, ...errors } } },
    async (req) => {
      const r = await client.testConfig({ id: idOf(req.params.id) }, { timeoutMs: 60_000 });
      return { success: r.success, message: r.message };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/haier/config/:id/activate/',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['config'],
        operationId: 'activateConfig', summary: 'Make this config the active one (a change of active config triggers a full sync)',
        params: configIdParam,
        response: dataAnswer(configSchema, { triggered_run_id: { type: ['string', 'null'] } }),
      },
    },
    async (req) => {
      const r = await client.activateConfig({ id: idOf(req.params.id) });
      return { success: true, data: configOut(must(r.config, req.params.id)), triggered_run_id: r.triggeredRunId || null };
    },
  );
}
