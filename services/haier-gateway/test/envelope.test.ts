import { parse } from 'lossless-json';
import { unwrapEnvelope } from '../src/envelope';
import { extractToken } from '../src/token-manager';

describe('unwrapEnvelope', () => {
  it('accepts the envelope, a bare list, and reads success:false as a business error', () => {
    expect(unwrapEnvelope({ success: true, data: [1] })).toEqual({ ok: true, data: [1] });
    expect(unwrapEnvelope([{ a: 1 }])).toEqual({ ok: true, data: [{ a: 1 }] });
    expect(unwrapEnvelope({ success: false, code: 'E100', description: '密码错误', timeStamp: '20260101000000', data: null })).toEqual({
      ok: false,
      code: 'E100',
      message: '密码错误',
    });
    expect(unwrapEnvelope({ success: 'false', message: 'nope' })).toEqual({ ok: false, code: '', message: 'nope' });
    expect(unwrapEnvelope({ getAllLogisticsInfoByOrderCode: [] })).toEqual({ ok: true, data: { getAllLogisticsInfoByOrderCode: [] } });
  });
});

describe('extractToken', () => {
  it('finds the token in any of the four places, expires_in defaulting to 3600', () => {
    expect(extractToken({ access_token: 'a', expires_in: 100 })).toEqual({ value: 'a', expiresInSeconds: 100 });
    expect(extractToken({ token: 'b' })).toEqual({ value: 'b', expiresInSeconds: 3600 });
    expect(extractToken({ data: { access_token: 'c', expires_in: '7200' } })).toEqual({ value: 'c', expiresInSeconds: 7200 });
    expect(extractToken(parse('{"data":{"token":"d"},"expires_in":60}'))).toEqual({ value: 'd', expiresInSeconds: 60 });
    expect(extractToken({ success: false })).toBeUndefined();
    expect(extractToken('x')).toBeUndefined();
  });
});
