// A tiny Haier client for the tests: token, business calls with the simulator's default account.
import { BUSINESS_PATHS, DEFAULT_CREDENTIALS, type Endpoint } from '../src/index';

const C = DEFAULT_CREDENTIALS;
export const ACCOUNT = {
  products: { customerCode: C.customerCode, sendToCode: C.sendToCode, supplierCode: '1001', searchType: 'PTJSH', passWord: C.passWord },
  prices: { customerCode: C.customerCode, sendToCode: C.sendToCode, priceType: 'PT', passWord: C.passWord },
  stock: { salesCode: C.customerCode, senderCode: C.sendToCode, source: 'JSH-B', sellerPassword: C.sellerPassword },
  logistics: { sellerCode: C.customerCode, sellerPassword: C.sellerPassword },
  balance: { customerCode: C.customerCode, customerPassword: C.customerPassword },
} as const;

export async function getToken(url: string, body: Record<string, unknown> = { client_id: C.clientId, client_secret: C.clientSecret, grant_type: 'client_credentials' }, path = '/oauth2/auth') {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function token(url: string): Promise<string> {
  const t = await getToken(url);
  if (t.status !== 200) throw new Error(`token: HTTP ${t.status}`);
  return t.body.access_token as string;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function call(url: string, endpoint: Endpoint, body: Record<string, unknown>, authorization?: string): Promise<CallResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(url + BUSINESS_PATHS[endpoint], { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function control(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/__sim${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}
