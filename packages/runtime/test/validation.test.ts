// The rulebook itself (pure): every rule names a real request message and field, and a broken
// rule is reported with the field's path. The same rules at every service's door are tested end
// to end in services/http-edge/test/input-rules.test.ts.
import { create, ScalarType, type DescMessage } from '@bufbuild/protobuf';
import { catalog, gateway, rules, sync } from '@haier-sync/contracts';
import { unstorableField } from '../src/storable';

const messages = new Map<string, DescMessage>(
  [gateway, catalog, sync]
    .flatMap((ns) => Object.values(ns as Record<string, unknown>))
    .filter((v): v is DescMessage => typeof v === 'object' && v !== null && (v as { kind?: string }).kind === 'message')
    .map((d) => [d.typeName, d]),
);

test('every rule is about a field that exists, of the kind the rule expects', () => {
  for (const [typeName, fields] of Object.entries(rules.requestRules)) {
    const desc = messages.get(typeName);
    expect({ typeName, found: desc !== undefined }).toEqual({ typeName, found: true });
    for (const [name, rule] of Object.entries(fields)) {
      const f = desc!.fields.find((x) => x.name === name);
      expect({ field: `${typeName}.${name}`, found: f !== undefined }).toEqual({ field: `${typeName}.${name}`, found: true });
      const kind = 'list' in rule ? 'list' : 'text' in rule ? 'string' : 'integer';
      const actual = f!.fieldKind === 'list' ? 'list' : f!.fieldKind === 'scalar' ? (f!.scalar === ScalarType.STRING ? 'string' : 'integer') : f!.fieldKind;
      expect({ field: `${typeName}.${name}`, kind: actual }).toEqual({ field: `${typeName}.${name}`, kind });
    }
  }
});

test('a broken rule names the field by its path, nested messages and list items included', () => {
  const stocks = create(gateway.GetStocksRequestSchema, { queries: [{ productCode: 'GA0SZC00U', countyCode: '110101' }, { productCode: 'GA0SZC00U', countyCode: '11010' }] });
  expect(rules.violation(gateway.GetStocksRequestSchema, stocks as never)).toEqual({ field: 'queries[1].county_code', problem: '"11010" is not a county code: 6 digits, the national county code (e.g. 110101)' });
  const run = create(sync.StartRunRequestSchema, { scope: { productCodes: ['GA0SZC00U', 'x'.repeat(41)] } });
  expect(rules.violation(sync.StartRunRequestSchema, run as never)?.field).toBe('scope.product_codes[1]');
  const ok = create(sync.StartRunRequestSchema, { scope: { productCodes: ['GA0SZC00U'] }, options: { countyCodes: ['110101'] } });
  expect(rules.violation(sync.StartRunRequestSchema, ok as never)).toBeUndefined();
  // an unset optional decimal passes; an empty one is missing
  expect(rules.violation(catalog.ListProductsRequestSchema, create(catalog.ListProductsRequestSchema, {}) as never)).toBeUndefined();
  expect(rules.violation(catalog.ListProductsRequestSchema, create(catalog.ListProductsRequestSchema, { minPrice: '' }) as never)?.problem).toBe('is missing: give a decimal amount, e.g. 1299.50');
  // a bulk write's items are the handler's (one bad item fails alone): only the list's size is checked here
  const upsert = create(catalog.UpsertProductsRequestSchema, { products: [{ productCode: 'bad code' }] });
  expect(rules.violation(catalog.UpsertProductsRequestSchema, upsert as never)).toBeUndefined();
  // messages quote the value JSON-escaped: a NUL byte or a newline never reaches a log raw
  expect(rules.checkText(rules.productCode, 'A\u0000\nB')).toBe('"A\\u0000\\nB" is not a Haier product code: 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. GA0SZC00U)');
});

test('ids stop at the bigint maximum; the derived JSON schema says the same through its format', () => {
  expect(rules.checkText(rules.runId, '9223372036854775807')).toBeUndefined();
  expect(rules.checkText(rules.runId, '9223372036854775808')).toMatch(/is not a run id: a whole number from 1 to 9223372036854775807/);
  expect(rules.checkInt(rules.configIdNumber, 0n)).toMatch(/^is missing: give a config id/);
  expect(rules.checkInt(rules.configIdNumber, -1n)).toMatch(/^-1 is not a config id/);
  const schema = rules.jsonSchema(rules.runId);
  const format = rules.jsonSchemaFormats[schema.format as keyof typeof rules.jsonSchemaFormats];
  expect([format('9223372036854775807'), format('9223372036854775808')]).toEqual([true, false]);
});

test('an http(s) URL is the one kind of link the rulebook accepts (image links, Haier endpoints, config URLs)', () => {
  expect(rules.httpUrl('https://img.example/a.jpg')?.host).toBe('img.example');
  expect(rules.httpUrl('http://127.0.0.1:8080/x')?.port).toBe('8080');
  for (const bad of ['javascript:alert(1)', 'ftp://host/file', 'img.example/a.jpg', '', 'http//missing-colon']) expect(rules.httpUrl(bad)).toBeUndefined();
});

test('unstorableField: the first NUL or lone surrogate in a message, by the proto field path (Struct keys as they are)', () => {
  const run = create(sync.StartRunRequestSchema, { scope: { productCodes: ['GA0SZC00U'], category: 'a\u0000' } });
  expect(unstorableField(run)).toBe('scope.category');
  const codes = create(sync.StartRunRequestSchema, { scope: { productCodes: ['GA0SZC00U', 'B\ud800'] } });
  expect(unstorableField(codes)).toBe('scope.product_codes[1]');
  const config = create(sync.CreateConfigRequestSchema, { name: 'x', environment: 'test', settings: { outer: { baseUrl: 'ok', note: 'n\u0000' } } });
  expect(unstorableField(config)).toBe('settings.outer.note');
  expect(unstorableField(create(sync.CreateConfigRequestSchema, { name: 'x', settings: { 'k\u0000': 1 } }))).toBe('settings');
  expect(unstorableField(create(sync.CreateConfigRequestSchema, { name: '海尔 😀', settings: { a: ['b', 1, null] } }))).toBeUndefined();
});
