// The REST contract as a document: the OpenAPI 3.1 document the edge builds is the committed
// docs/openapi.json (packages/rest-client is generated from that file), and `redocly lint`
// (recommended rules, services/http-edge/redocly.yaml) finds no error and no warning in it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OPENAPI_FILE, openapiDocument, openapiText } from '../src/openapi';

const run = promisify(execFile);
const EDGE_DIR = join(__dirname, '..');

let doc: Record<string, any>;
beforeAll(async () => {
  doc = await openapiDocument();
}, 60_000);

test('docs/openapi.json is the document the edge builds (regenerate: node services/http-edge/dist/openapi.js after a build)', () => {
  expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(openapiText(doc));
});

test('every operation has a unique operationId, the shared schemas are $ref components, and servers are listed', () => {
  const ids: string[] = [];
  for (const ops of Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>)) for (const op of Object.values(ops)) ids.push(op.operationId ?? '(none)');
  expect(ids).not.toContain('(none)');
  expect(new Set(ids).size).toBe(ids.length);
  expect(doc.openapi).toBe('3.1.0');
  expect(doc.servers.length).toBeGreaterThan(0);
  expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Error', 'Run', 'Product', 'SyncLogEntry', 'HaierConfig', 'ApiKey']));
  const text = JSON.stringify(doc.paths);
  expect(text).toContain('"$ref":"#/components/schemas/Run"');
  // the product's shape is written once, under components (not inlined into each answer)
  expect(text).not.toContain('"county_stock"');
  expect(doc.components.schemas.Run.examples.length).toBeGreaterThan(0);
});

test('redocly lint passes with no error and no warning', async () => {
  const { stdout, stderr } = await run(join(EDGE_DIR, 'node_modules', '.bin', 'redocly'), ['lint', OPENAPI_FILE, '--config', join(EDGE_DIR, 'redocly.yaml'), '--format', 'json'], {
    cwd: EDGE_DIR,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  }).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
  const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string }> };
  expect({ totals: report.totals, problems: report.problems.map((p) => `${p.ruleId}: ${p.message}`), stderr: report.totals.errors ? stderr : '' }).toEqual({ totals: expect.objectContaining({ errors: 0, warnings: 0 }), problems: [], stderr: '' });
}, 60_000);
