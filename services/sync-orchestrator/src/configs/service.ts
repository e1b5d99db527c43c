// Haier configs: named settings documents (one active) for test, pre-production and production.
// CRUD, activate (a change of the active config starts a FULL run, trigger CONFIG_CHANGE) and
// test (does the account authenticate? asks the gateway). Answers are proto messages; errors are
// ConnectErrors in an operator's words.
import { create, type JsonObject } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { ConnectError, type Client } from '@connectrpc/connect';
import { gateway, rules, sync } from '@haier-sync/contracts';
import { alreadyExists, failedPrecondition, HAIER_LANE_HEADER, invalidArgument, notFound, redact, type Logger } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import { HaierConfigRow, type HaierConfigEntity } from './entities';
import { fullRunRequest } from '../schedule/jobs';
import { ENVIRONMENTS, accountSettings, maskSettings, settingsProblems } from './settings-rules';

/**
 * Starts a run through the runs engine. Either answer shape is taken: the StartRun response
 * (`{run, alreadyActive}`) or the bare run.
 */
export type StartRun = (req: sync.StartRunRequest) => Promise<sync.Run | { run?: sync.Run; alreadyActive?: boolean }>;

/** The run a StartRun answer names, and whether it was an already active one. */
export function startedRun(res: Awaited<ReturnType<StartRun>>): { run?: sync.Run; alreadyActive: boolean } {
  if (res && '$typeName' in res && res.$typeName === 'haiersync.sync.v1.Run') return { run: res as sync.Run, alreadyActive: false };
  const r = res as { run?: sync.Run; alreadyActive?: boolean };
  return { run: r.run, alreadyActive: r.alreadyActive ?? false };
}

export interface ConfigServiceDeps {
  orm: MikroORM;
  gateway: Client<typeof gateway.HaierGatewayService>;
  /** The runs API's startRun (src/runs/api.ts). */
  startRun: StartRun;
  logger: Logger;
  /** Counties whose stock a triggered FULL run syncs (SYNC_COUNTIES). */
  counties?: string[];
}

export interface ConfigService {
  list(): Promise<sync.ListConfigsResponse>;
  get(req: { id: bigint }): Promise<sync.GetConfigResponse>;
  create(req: { name: string; environment: string; settings?: JsonObject }): Promise<sync.CreateConfigResponse>;
  update(req: { id: bigint; name: string; environment: string; settings?: JsonObject }, actor?: string): Promise<sync.UpdateConfigResponse>;
  remove(req: { id: bigint }): Promise<sync.DeleteConfigResponse>;
  activate(req: { id: bigint }, actor?: string): Promise<sync.ActivateConfigResponse>;
  test(req: { id: bigint }): Promise<sync.TestConfigResponse>;
}

const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} ._\-]{0,99}$/u;

export function toConfigMessage(row: HaierConfigEntity): sync.HaierConfig {
  return create(sync.HaierConfigSchema, {
    id: BigInt(row.id),
    name: row.name,
    environment: row.environment,
    settings: maskSettings(row.settings as JsonObject),
    active: row.active,
    createdAt: timestampFromDate(new Date(row.createdAt)),
    updatedAt: timestampFromDate(new Date(row.updatedAt)),
  });
}

function checkName(name: string): string {
  const n = name.trim();
  if (!NAME_RE.test(n)) {
    throw invalidArgument('a config needs a name of 1-100 letters, digits, spaces, dots, dashes or underscores (e.g. "production-main")', 'name');
  }
  return n;
}

function checkEnvironment(env: string): string {
  const e = env.trim().toLowerCase();
  if (!(ENVIRONMENTS as readonly string[]).includes(e)) {
    throw invalidArgument(`environment must be one of ${ENVIRONMENTS.join(', ')}; got ${JSON.stringify(env)}`, 'environment');
  }
  return e;
}

function checkSettings(settings: JsonObject | undefined): JsonObject {
  const s = settings ?? {};
  const problems = settingsProblems(s);
  if (problems.length > 0) {
    // never echo the offending values: only paths and what to do
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).map((p) => p.path).join(', ')})` : '';
    throw invalidArgument(`${first.path} ${first.message}${more}`, `settings.${first.path}`);
  }
  return s;
}

/** A config id by the rulebook (requests were checked by the interceptor; internal callers are checked here). */
function idOf(id: bigint): string {
  const problem = rules.checkInt(rules.configIdNumber, id);
  if (problem) throw invalidArgument(problem, 'id');
  return id.toString();
}

/** Key-order-insensitive equality of two JSON documents. */
function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown =>
    v !== null && typeof v === 'object'
      ? Array.isArray(v)
        ? v.map(norm)
        : Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, norm((v as Record<string, unknown>)[k])]))
      : v;
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; name?: string };
  return e?.code === '23505' || e?.name === 'UniqueConstraintViolationException';
}

export function createConfigService(deps: ConfigServiceDeps): ConfigService {
  const log = deps.logger.child({ component: 'configs' });
  const em = () => deps.orm.em.fork();

  /** A change of the active config: a FULL run, trigger CONFIG_CHANGE. Answers its id. */
  async function configChangeRun(row: HaierConfigEntity, startedBy: string, what: 'activated' | 'updated'): Promise<string> {
    log.info({ config_id: row.id, name: row.name, environment: row.environment }, `active Haier config ${what}; starting a FULL sync`);
    try {
      const { run, alreadyActive } = startedRun(await deps.startRun(fullRunRequest(sync.RunTrigger.CONFIG_CHANGE, deps.counties ?? [], startedBy)));
      if (alreadyActive) log.info({ run_id: run?.id }, 'a FULL sync is already running; it serves the config change');
      return run?.id ?? '';
    } catch (err) {
      // the change stands; say clearly that the sync did not start
      log.error({ err: redact(String((err as Error)?.message ?? err)), config_id: row.id }, `config ${what} but the FULL sync could not be started; start it with "haier-sync sync --full"`);
      throw failedPrecondition(
        `config "${row.name}" is ${what === 'activated' ? 'now active' : 'saved'}, but the FULL sync it needs could not be started (${redact(ConnectError.from(err).rawMessage)}); start it with "haier-sync sync --full"`,
      );
    }
  }

  async function load(id: bigint): Promise<HaierConfigEntity> {
    const row = await em().findOne(HaierConfigRow, { id: idOf(id) });
    if (!row) throw notFound(`no Haier config with id ${id}; list them with ListConfigs (haier-sync config list)`);
    return row;
  }

  return {
    async list() {
      const rows = await em().find(HaierConfigRow, {}, { orderBy: { id: 'asc' } });
      return create(sync.ListConfigsResponseSchema, { configs: rows.map(toConfigMessage) });
    },

    async get(req) {
      return create(sync.GetConfigResponseSchema, { config: toConfigMessage(await load(req.id)) });
    },

    async create(req) {
      const name = checkName(req.name);
      const environment = checkEnvironment(req.environment);
      const settings = checkSettings(req.settings);
      const e = em();
      const row = e.create(HaierConfigRow, { name, environment, settings, active: false, createdAt: new Date(), updatedAt: new Date() });
      try {
        await e.persistAndFlush(row);
      } catch (err) {
        if (isUniqueViolation(err)) throw alreadyExists(`a Haier config named "${name}" already exists; pick another name or update that one`);
        throw err;
      }
      log.info({ config_id: row.id, name, environment }, 'Haier config created');
      return create(sync.CreateConfigResponseSchema, { config: toConfigMessage(row) });
    },

    async update(req, actor = '') {
      const e = em();
      const row = await e.findOne(HaierConfigRow, { id: idOf(req.id) });
      if (!row) throw notFound(`no Haier config with id ${req.id}; list them with ListConfigs (haier-sync config list)`);
      // empty fields keep what is stored; settings, when given, replace the document
      if (req.name.trim() !== '') row.name = checkName(req.name);
      if (req.environment.trim() !== '') row.environment = checkEnvironment(req.environment);
      let settingsChanged = false;
      if (req.settings !== undefined) {
        const next = checkSettings(req.settings);
        settingsChanged = !sameJson(row.settings, next);
        row.settings = next;
      }
      row.updatedAt = new Date();
      try {
        await e.flush();
      } catch (err) {
        if (isUniqueViolation(err)) throw alreadyExists(`a Haier config named "${row.name}" already exists; pick another name`);
        throw err;
      }
      log.info({ config_id: row.id, name: row.name }, 'Haier config updated');
      // new settings on the active config are a change of the active config
      if (row.active && settingsChanged) await configChangeRun(row, actor || `config:${row.name}`, 'updated');
      return create(sync.UpdateConfigResponseSchema, { config: toConfigMessage(row) });
    },

    async remove(req) {
      const e = em();
      const row = await e.findOne(HaierConfigRow, { id: idOf(req.id) });
      if (!row) throw notFound(`no Haier config with id ${req.id}; list them with ListConfigs (haier-sync config list)`);
      if (row.active) throw failedPrecondition(`config "${row.name}" is the active one; activate another config before deleting it`);
      await e.removeAndFlush(row);
      log.info({ config_id: row.id, name: row.name }, 'Haier config deleted');
      return create(sync.DeleteConfigResponseSchema, {});
    },

    async activate(req, actor = '') {
      const id = idOf(req.id);
      const knex = deps.orm.em.getKnex();
      // one activation at a time; at most one active row (also a partial unique index)
      const changed = await knex.transaction(async (trx) => {
        await trx.raw(`select pg_advisory_xact_lock(hashtext('sync.haier_configs.activate'))`);
        const found = await trx.raw<{ rows: Array<{ id: string; active: boolean }> }>(`select id::text as id, active from sync.haier_configs where id = ? for update`, [id]);
        const target = found.rows[0];
        if (!target) return undefined;
        if (target.active) return false;
        await trx.raw(`update sync.haier_configs set active = false, updated_at = now() where active`);
        await trx.raw(`update sync.haier_configs set active = true, updated_at = now() where id = ?`, [id]);
        return true;
      });
      if (changed === undefined) throw notFound(`no Haier config with id ${req.id}; list them with ListConfigs (haier-sync config list)`);
      const row = await load(req.id);
      const triggeredRunId = changed ? await configChangeRun(row, actor || `config:${row.name}`, 'activated') : '';
      return create(sync.ActivateConfigResponseSchema, { config: toConfigMessage(row), triggeredRunId });
    },

    async test(req) {
      const row = await load(req.id);
      try {
        // the config's own token URL and credentials (named variables, read by the gateway)
        const res = await deps.gateway.checkAuth({ account: accountSettings(row.settings as JsonObject) }, { timeoutMs: 30_000, headers: { [HAIER_LANE_HEADER]: 'interactive' } });
        const msg = res.message || (res.ok ? 'authenticated' : 'authentication failed');
        return create(sync.TestConfigResponseSchema, { success: res.ok, message: redact(`config "${row.name}": ${msg}`) });
      } catch (err) {
        const ce = ConnectError.from(err);
        return create(sync.TestConfigResponseSchema, {
          success: false,
          message: redact(`config "${row.name}": the gateway could not check the account (${ce.rawMessage}); check that haier-gateway runs and GATEWAY_URL points at it`),
        });
      }
    },
  };
}
