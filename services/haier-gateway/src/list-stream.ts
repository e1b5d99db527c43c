// Streaming reader for Haier's (possibly huge) list answers: `{success, data: [...]}` or a bare
// `[...]`, parsed token by token with stream-json so the whole list is never held. Records come
// out in batches; number tokens stay exact (LosslessNumber), never floats.
import type { Readable } from 'node:stream';
import Assembler from 'stream-json/Assembler';
import Parser from 'stream-json/Parser';
import { LosslessNumber } from 'lossless-json';
import { businessError } from './envelope';

interface Token {
  name: string;
  value?: unknown;
}

/** An Assembler that keeps number tokens as LosslessNumber (stream-json would parseFloat them). */
function losslessAssembler(): Assembler {
  const asm = new Assembler();
  const save = (asm as unknown as { stringValue(v: unknown): void }).stringValue.bind(asm);
  (asm as unknown as { numberValue(v: string): void }).numberValue = (v: string) => save(new LosslessNumber(v));
  return asm;
}

type State = 'start' | 'list' | 'envelope' | 'envelope-value' | 'data-list' | 'meta-value' | 'done';

/**
 * Consumes parser tokens and calls onItem for each element of the list (top-level array or the
 * envelope's `data` array). Other top-level envelope fields are collected as `meta`.
 */
export class EnvelopeListReader {
  private state: State = 'start';
  private readonly asm = losslessAssembler();
  private inItem = false;
  private key = '';
  readonly meta: Record<string, unknown> = {};
  sawList = false;

  constructor(private readonly onItem: (item: unknown) => void) {}

  consume(token: Token): void {
    switch (this.state) {
      case 'start':
        if (token.name === 'startArray') {
          this.state = 'list';
          this.sawList = true;
        } else if (token.name === 'startObject') this.state = 'envelope';
        else throw new Error(`expected a JSON list or object, got ${token.name}`);
        return;
      case 'list':
      case 'data-list':
        if (!this.inItem && token.name === 'endArray') {
          this.state = this.state === 'list' ? 'done' : 'envelope';
          return;
        }
        this.asm.consume(token as never);
        this.inItem = !this.asm.done;
        if (this.asm.done) this.onItem(this.asm.current);
        return;
      case 'envelope':
        if (token.name === 'keyValue') {
          this.key = String(token.value);
          this.state = 'envelope-value';
        } else if (token.name === 'endObject') this.state = 'done';
        return;
      case 'envelope-value':
        if (this.key === 'data' && token.name === 'startArray') {
          this.state = 'data-list';
          this.sawList = true;
          return;
        }
        this.state = 'meta-value';
        this.consumeMeta(token);
        return;
      case 'meta-value':
        this.consumeMeta(token);
        return;
      case 'done':
        return;
    }
  }

  private consumeMeta(token: Token): void {
    this.asm.consume(token as never);
    if (this.asm.done) {
      this.meta[this.key] = this.asm.current;
      this.state = 'envelope';
    }
  }

  /** The business error the envelope carried (success: false), if any. */
  businessError(): { code: string; message: string } | undefined {
    return businessError(this.meta);
  }
}

export class ListStreamError extends Error {}
export class ListBusinessError extends Error {
  constructor(readonly code: string, readonly description: string) {
    super(`business error ${code}: ${description}`);
  }
}

/**
 * Reads a list answer from `body` and yields its records in batches of `batchSize`, pausing the
 * parse (and so the socket) while the consumer is busy. Throws ListBusinessError for
 * success:false and ListStreamError for a body that is not a list answer.
 */
export async function* streamListBatches(body: Readable, batchSize: number): AsyncGenerator<unknown[], void> {
  const parser = new Parser({ packValues: true, streamValues: false });
  const ready: unknown[][] = [];
  let pending: unknown[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const reader = new EnvelopeListReader((item) => {
    pending.push(item);
    if (pending.length >= batchSize) {
      ready.push(pending);
      pending = [];
      if (ready.length >= 2) parser.pause();
      signal();
    }
  });
  parser.on('data', (token: Token) => {
    if (failure) return;
    try {
      reader.consume(token);
    } catch (err) {
      failure = new ListStreamError((err as Error).message);
      body.destroy();
      signal();
    }
  });
  parser.on('end', () => {
    ended = true;
    signal();
  });
  const onError = (err: Error) => {
    failure ??= err;
    signal();
  };
  parser.on('error', (err: Error) => onError(new ListStreamError(`not valid JSON: ${err.message}`)));
  body.on('error', onError);
  body.pipe(parser);
  try {
    for (;;) {
      if (failure) throw failure;
      const next = ready.shift();
      if (next) {
        yield next;
        if (ready.length < 2 && parser.isPaused()) parser.resume();
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure) throw failure;
    const biz = reader.businessError();
    if (biz) throw new ListBusinessError(biz.code, biz.message);
    if (!reader.sawList) {
      if ('data' in reader.meta && (reader.meta['data'] === null || reader.meta['data'] === undefined)) return;
      throw new ListStreamError('the answer holds no list (expected a list or {success, data: [...]})');
    }
    if (pending.length) yield pending;
  } finally {
    if (!ended) {
      body.unpipe(parser);
      body.destroy();
      parser.destroy();
    }
  }
}
