// Reads a Server-Sent Events stream to its end (or a timeout) and parses the events.
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export async function readSse(url: string, key: string, opts: { timeoutMs?: number; onEvent?: (e: SseEvent) => void } = {}): Promise<{ status: number; contentType: string; events: SseEvent[] }> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), opts.timeoutMs ?? 120_000);
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' }, signal: ctrl.signal });
    const contentType = res.headers.get('content-type') ?? '';
    const events: SseEvent[] = [];
    if (!res.body) return { status: res.status, contentType, events };
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const e: SseEvent = { event: 'message', data: '', json: undefined };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'event') e.event = value;
          else if (field === 'data') data.push(value);
          else if (field === 'id') e.id = value;
        }
        if (data.length === 0) continue;
        e.data = data.join('\n');
        try {
          e.json = JSON.parse(e.data);
        } catch {
          e.json = undefined;
        }
        events.push(e);
        opts.onEvent?.(e);
      }
    }
    return { status: res.status, contentType, events };
  } finally {
    clearTimeout(timer);
  }
}
