// Every contract, namespaced by package so names never clash (e.g. gateway.Product vs catalog.Product).
export * as health from './gen/grpc/health/v1/health_pb';
export * as reflection from './gen/grpc/reflection/v1/reflection_pb';
export * as reflectionV1alpha from './gen/grpc/reflection/v1alpha/reflection_pb';
export * as gateway from './gen/haiersync/gateway/v1/gateway_pb';
export * as catalog from './gen/haiersync/catalog/v1/catalog_pb';
export * as sync from './gen/haiersync/sync/v1/sync_pb';
export * as events from './gen/haiersync/events/v1/events_pb';
// The one rulebook for input (hand-written, beside the contracts it is about).
export * as rules from './rules';
