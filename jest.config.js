// One Jest run over every workspace package; TypeScript is compiled by @swc/jest
// (TypeScript itself is only used for type-checking, see README "Toolchain").
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
const project = (dir) => ({
  displayName: dir,
  rootDir: `${__dirname}/${dir}`,
  testEnvironment: 'node',
  // workspace packages expose their TypeScript sources under the "source" condition
  testEnvironmentOptions: { customExportConditions: ['source', 'node', 'require', 'default'] },
  transform: { '^.+\\.ts$': swc },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
});
module.exports = {
  projects: ['packages/runtime', 'tools/haier-sim', 'services/haier-gateway', 'services/catalog', 'services/sync-orchestrator', 'services/http-edge']
    .filter((d) => require('fs').existsSync(`${__dirname}/${d}/test`))
    .map(project),
  testTimeout: 60000,
};
