// The config RPCs of sync.SyncService, as a partial ServiceImpl that src/service.ts spreads in.
// Handlers only map requests to the config service; the rules live in service.ts.
import type { ServiceImpl } from '@connectrpc/connect';
import type { sync } from '@haier-sync/contracts';
import { createConfigService, type ConfigServiceDeps } from './service';

export type ConfigHandlers = Pick<
  ServiceImpl<typeof sync.SyncService>,
  'listConfigs' | 'getConfig' | 'createConfig' | 'updateConfig' | 'deleteConfig' | 'activateConfig' | 'testConfig'
>;

/** Header an authenticated caller (the edge) may set to say who asked; recorded as the run's started_by. */
export const ACTOR_HEADER = 'x-haier-sync-actor';

function actorOf(header: Headers): string {
  return (header.get(ACTOR_HEADER) ?? '').trim().slice(0, 200);
}

export function configHandlers(deps: ConfigServiceDeps): ConfigHandlers {
  const svc = createConfigService(deps);
  return {
    listConfigs: () => svc.list(),
    getConfig: (req) => svc.get({ id: req.id }),
    createConfig: (req) => svc.create({ name: req.name, environment: req.environment, settings: req.settings }),
    updateConfig: (req, ctx) => svc.update({ id: req.id, name: req.name, environment: req.environment, settings: req.settings }, actorOf(ctx.requestHeader)),
    deleteConfig: (req) => svc.remove({ id: req.id }),
    activateConfig: (req, ctx) => svc.activate({ id: req.id }, actorOf(ctx.requestHeader)),
    testConfig: (req) => svc.test({ id: req.id }),
  };
}
