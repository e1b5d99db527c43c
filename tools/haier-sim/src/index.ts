// @haier-sync/haier-sim — a DEVELOPMENT stand-in for Haier's B2B API (not Haier).
export { startSimulator } from './server';
export { BUSINESS_PATHS, TOKEN_PATHS, MAX_CODES, type Endpoint } from './paths';
export { DEFAULT_CREDENTIALS, gatewayAccountEnv } from './simulator';
export { invoicePrice } from './price-math';
export { busiestWindow } from './stats';
export { sequence } from './hash';
export type * from './types';
