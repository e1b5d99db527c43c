// The REST API as the console uses it: the typed client (@haier-sync/rest-client, generated from
// docs/openapi.json) with the operator's key; errors as ApiError (status, code, message, run_id).
import { createRestClient, type components, type RestClient } from '@haier-sync/rest-client';

export type Run = components['schemas']['Run'];
export type Product = components['schemas']['Product'];
export type Role = 'viewer' | 'operator' | 'admin';
/** What a 429 of the Haier call budget says about the budget that refused (error.budget). */
export type BudgetRefusal = NonNullable<components['schemas']['Error']['error']['budget']>;

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
/** Whether a key of role `have` may do what needs `need` (the edge still checks). */
export const roleAllows = (have: Role | undefined, need: Role) => have !== undefined && RANK[have] >= RANK[need];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly runId?: string,
    readonly budget?: BudgetRefusal,
  ) {
    super(message);
  }
}

interface ErrorAnswer {
  error?: { code?: string; message?: string; run_id?: string; budget?: BudgetRefusal };
}

/** The answer's data, or an ApiError worded for an operator. */
export async function call<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r: Awaited<typeof p>;
  try {
    r = await p;
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `The edge did not answer (${(e as Error).message}); check that it is running and reload.`);
  }
  if (r.error !== undefined || r.data === undefined) {
    const e = (r.error ?? {}) as ErrorAnswer;
    const status = r.response.status;
    const hint = status === 401 ? ' Ask an admin for a valid API key and paste it again.' : '';
    throw new ApiError(status, e.error?.code ?? 'HTTP_' + status, `${status}: ${e.error?.message ?? r.response.statusText}${hint}`, e.error?.run_id, e.error?.budget);
  }
  return r.data;
}

/** A call answered "204 No Content" when it succeeds (a DELETE): resolves then, else throws its ApiError. */
export async function callNoContent(p: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<void> {
  await call(p.then((r) => (r.response.status === 204 ? { ...r, data: null } : r)));
}

const KEY = 'haier-sync.api-key';
export const storedKey = () => sessionStorage.getItem(KEY) ?? '';
export const storeKey = (k: string) => (k ? sessionStorage.setItem(KEY, k) : sessionStorage.removeItem(KEY));

export const clientFor = (apiKey: string): RestClient => createRestClient({ baseUrl: window.location.origin, apiKey });

/**
 * Server-Sent Events of `path`, read with fetch so that the key travels in a header (never in a
 * URL, as EventSource would need). Calls onEvent for every event with data; resolves when the
 * stream ends (the edge closed it, or `signal` aborted). `what` words the error of a refused stream.
 */
export async function readEvents(apiKey: string, path: string, onEvent: (event: string, data: string) => void, signal: AbortSignal, what: string): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${apiKey}`, accept: 'text/event-stream' }, signal });
  if (!res.ok || !res.body) throw new ApiError(res.status, 'HTTP_' + res.status, `${res.status}: could not ${what}.`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(event, data);
    }
  }
}

/** The message of a "reconnecting" event (the orchestrator restarting; the edge reopens the stream). */
export const reconnectingMessage = (data: string) => (JSON.parse(data) as { message?: string }).message ?? 'reconnecting…';

/**
 * A run's progress (its Server-Sent Events, readEvents): calls onRun for every "progress" and
 * "end" event; resolves when the stream ends (the run ended, or `signal` aborted).
 */
export async function followRun(apiKey: string, id: string, onRun: (run: Run) => void, signal: AbortSignal, onReconnecting: (message: string) => void = () => undefined): Promise<void> {
  await readEvents(
    apiKey,
    `/api/haier/sync/${encodeURIComponent(id)}/events/`,
    (event, data) => {
      if (event === 'progress' || event === 'end') onRun(JSON.parse(data) as Run);
      if (event === 'reconnecting') onReconnecting(reconnectingMessage(data));
    },
    signal,
    `follow run ${id}`,
  );
}
