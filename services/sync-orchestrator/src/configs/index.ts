// Haier configs: the config RPC handlers A's server spreads in, the service behind them, and the
// pure settings rules.
export { configHandlers, ACTOR_HEADER, type ConfigHandlers } from './handlers';
export { createConfigService, startedRun, toConfigMessage, type ConfigService, type ConfigServiceDeps, type StartRun } from './service';
export { settingsProblems, maskSettings, isSecretKey, referencedVariables, accountSettings, ENVIRONMENTS } from './settings-rules';
export { configEntities, HaierConfigRow, type HaierConfigEntity } from './entities';
