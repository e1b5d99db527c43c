// An unexpected failure's log line (answerFor, every service's error interceptor) carries the
// error's type, code, message and stack frames, but never a failing statement or its values.
import { catalog } from '@haier-sync/contracts';
import { Code } from '@connectrpc/connect';
import { answerFor, loggableError } from '../src/errors';
import { createLogger } from '../src/index';
import { captureLogs } from '../src/testing';

const statementError = () =>
  Object.assign(new Error(`insert into "sync"."haier_config" ("name", "settings") values ('x', '{"customer_code":"SettingValue-7Hq2"}') - invalid byte sequence for encoding "UTF8": 0x00`), {
    name: 'DriverException',
    sqlState: '22021',
    code: '22021',
  });

test('a database error is logged by its SQLSTATE: no SQL text, no value', async () => {
  const cap = captureLogs();
  const logger = createLogger('catalog', { destination: cap.stream });
  const answer = answerFor(statementError(), catalog.CatalogService.method.listProducts, { service: 'catalog', logger });
  expect(answer.code).toBe(Code.Internal);
  await new Promise((r) => setTimeout(r, 20));
  const text = cap.text();
  expect(text).toContain('SQLSTATE 22021');
  expect(text).toContain('failed unexpectedly');
  expect(text).not.toContain('SettingValue-7Hq2');
  expect(text).not.toMatch(/insert into|invalid byte sequence/i);
});

test('any other error keeps its type, message and frames', () => {
  const out = loggableError(new TypeError('x is not a function'));
  expect(out).toMatchObject({ type: 'TypeError', message: 'x is not a function' });
  expect(String(out.stack)).toMatch(/^\s+at /);
});
