// `haier-sync config list|show|activate|test`: the named Haier configs (secrets are environment
// variable names, never values).
import { configJson, configsTable, configText } from '../format';
import { EXIT } from '../exit-codes';
import type { CliContext } from '../context';

export async function configList(ctx: CliContext, o: { json?: boolean }): Promise<void> {
  const { configs } = await ctx.sync().listConfigs({});
  if (o.json) return ctx.printJson(configs.map(configJson));
  ctx.print(configsTable(configs));
}

export async function configShow(ctx: CliContext, id: bigint, o: { json?: boolean }): Promise<void> {
  const { config } = await ctx.sync().getConfig({ id });
  if (!config) throw new Error(`the service answered GetConfig(${id}) without a config`);
  if (o.json) return ctx.printJson(configJson(config));
  ctx.print(configText(config));
}

export async function configActivate(ctx: CliContext, id: bigint, o: { json?: boolean }): Promise<void> {
  // the service records who activated it as the starter of the FULL run the change triggers
  const res = await ctx.sync().activateConfig({ id }, { headers: { 'x-haier-sync-actor': ctx.whoAmI() } });
  if (o.json) return ctx.printJson({ config: res.config ? configJson(res.config) : null, triggeredRunId: res.triggeredRunId });
  ctx.print(`config ${id}${res.config ? ` "${res.config.name}"` : ''} is now the active Haier config`);
  if (res.triggeredRunId) ctx.print(`the change started FULL run ${res.triggeredRunId}: haier-sync runs watch ${res.triggeredRunId}`);
}

export async function configTest(ctx: CliContext, id: bigint, o: { json?: boolean }): Promise<void> {
  const res = await ctx.sync().testConfig({ id }, { timeoutMs: 60_000 });
  if (o.json) ctx.printJson({ success: res.success, message: res.message });
  else ctx.print(`${res.success ? '✓' : '✗'} config ${id}: ${res.message || (res.success ? 'authenticates' : 'does not authenticate')}`);
  ctx.exitCode = res.success ? EXIT.OK : EXIT.FAILED;
}
