// Reading back what a test's streams hold (every message by stream sequence).
import { fromBinary } from '@bufbuild/protobuf';
import { events } from '@haier-sync/contracts';
import type { JetStreamManager, StoredMsg } from 'nats';

export async function allMessages(jsm: JetStreamManager, stream: string): Promise<StoredMsg[]> {
  const info = await jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    out.push(await jsm.streams.getMessage(stream, { seq }));
  }
  return out;
}

export const msgIdOf = (m: StoredMsg): string => m.header?.get('Nats-Msg-Id') ?? '';

export function productEvent(m: StoredMsg): events.ProductChanged {
  return fromBinary(events.ProductChangedSchema, m.data);
}

export async function streamCount(jsm: JetStreamManager, stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}
