import { trace } from '@opentelemetry/api';
import { createLogger, redact, registerSecret, REDACTED } from '../src/index';
import { captureLogs, startTestTracing, type TestTracing } from '../src/testing';

const SECRET = 'Pa55-w0rd!"quoted\\slash';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.token-value';

describe('logger', () => {
  let tracing: TestTracing;
  beforeAll(() => {
    registerSecret(SECRET);
    registerSecret(TOKEN);
    registerSecret('');
    registerSecret(undefined);
    tracing = startTestTracing();
  });
  afterAll(() => tracing.stop());

  it('writes JSON lines with service, level label and ISO UTC time', () => {
    const cap = captureLogs();
    const log = createLogger('catalog', { destination: cap.stream });
    log.info({ n: 1 }, 'hello');
    const [line] = cap.lines();
    expect(line).toMatchObject({ service: 'catalog', level: 'info', msg: 'hello', n: 1 });
    expect(line?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('masks a registered secret in the message, in object fields and in an error message and stack', () => {
    const cap = captureLogs();
    const log = createLogger('gateway', { destination: cap.stream });
    log.info(`logging in with ${SECRET}`);
    log.info({ upstream: { body: `grant=${TOKEN}`, list: [SECRET] } }, 'token response');
    const err = new Error(`login refused for password ${SECRET}`);
    log.error({ err }, 'login failed');
    log.warn(err, 'direct error');
    const text = cap.text();
    expect(cap.lines()).toHaveLength(4); // still valid JSON after masking
    expect(text).not.toContain('Pa55-w0rd');
    expect(text).not.toContain('token-value');
    expect(text.split(REDACTED).length - 1).toBeGreaterThanOrEqual(6);
    const errLine = cap.lines()[2] as { err: { message: string; stack: string } };
    expect(errLine.err.message).toBe(`login refused for password ${REDACTED}`);
    expect(errLine.err.stack).toContain(REDACTED);
  });

  it('masks secret-named keys at any depth, whatever their value', () => {
    const cap = captureLogs();
    const log = createLogger('gateway', { destination: cap.stream });
    log.info(
      {
        password: 'p1',
        sellerPassword: 'p2',
        body: { passWord: 'p3', customerPassword: 'p4', client_secret: 'p5' },
        req: { headers: { authorization: 'Bearer p6', Authorization: 'Bearer p7' } },
        a: { b: { c: { access_token: 'p8', clientSecret: 'p9', token: 'p10' } } },
        keep: 'visible',
      },
      'request',
    );
    const text = cap.text();
    for (const v of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', 'p10']) expect(text).not.toContain(`"${v}"`);
    expect(text).not.toContain('Bearer');
    expect(cap.lines()[0]).toMatchObject({ keep: 'visible', password: REDACTED, body: { passWord: REDACTED } });
  });

  it('masks secret-named keys inside lists and child bindings, without touching the caller\'s object', () => {
    const cap = captureLogs();
    const log = createLogger('gateway', { destination: cap.stream }).child({ token: 'bound-t1', part: 'client' });
    const payload = { rows: [{ code: 'A', password: 'p11' }, 'plain', [{ apiKey: 'p12' }]], deep: { l1: { l2: { l3: { l4: { l5: { secret: 'p13' } } } } } } };
    log.info(payload, 'rows');
    const text = cap.text();
    for (const v of ['bound-t1', 'p11', 'p12', 'p13']) expect(text).not.toContain(v);
    expect(cap.lines()[0]).toMatchObject({ part: 'client', token: REDACTED, rows: [{ code: 'A', password: REDACTED }, 'plain', [{ apiKey: REDACTED }]] });
    expect(payload.rows[0]).toEqual({ code: 'A', password: 'p11' }); // the caller's object is unchanged
  });

  it('adds trace_id and span_id of the active span', () => {
    const cap = captureLogs();
    const log = createLogger('catalog', { destination: cap.stream });
    log.info('outside');
    const tracer = trace.getTracer('test');
    let ids = { traceId: '', spanId: '' };
    tracer.startActiveSpan('work', (span) => {
      ids = span.spanContext();
      log.info('inside');
      span.end();
    });
    const [outside, inside] = cap.lines();
    expect(outside).not.toHaveProperty('trace_id');
    expect(inside).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('respects LOG_LEVEL and an explicit level', () => {
    const old = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'warn';
    try {
      const cap = captureLogs();
      const log = createLogger('x', { destination: cap.stream });
      log.info('dropped');
      log.warn('kept');
      expect(cap.lines().map((l) => l.msg)).toEqual(['kept']);
      expect(createLogger('x', { level: 'debug', destination: cap.stream }).level).toBe('debug');
    } finally {
      if (old === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = old;
    }
  });

  it('redact() masks the longest secret first and leaves other text alone', () => {
    registerSecret('abc-secret');
    registerSecret('abc-secret-longer');
    expect(redact('x abc-secret-longer y abc-secret z')).toBe(`x ${REDACTED} y ${REDACTED} z`);
    expect(redact('nothing here')).toBe('nothing here');
  });
});
