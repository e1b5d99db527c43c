// Catalog products as REST answers (snake_case, decimals as strings, times ISO UTC) (pure).
// Derived from the contract: every field of catalog.Product (and its CountyStock) appears under
// its proto name, so a field added to the proto reaches the REST answer and its JSON schema
// without an edit here.
import { ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import { catalog } from '@haier-sync/contracts';
import { iso } from './run-view';

/** Product fields that are catalog internals, not part of the REST answer. */
const HIDDEN = new Set(['content_hash']);

const TIMESTAMP = 'google.protobuf.Timestamp';
const INTEGERS = new Set([ScalarType.INT32, ScalarType.UINT32, ScalarType.SINT32, ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64]);
const visible = (m: DescMessage): DescField[] => m.fields.filter((f) => !HIDDEN.has(f.name));

function scalarOut(t: ScalarType, v: unknown): unknown {
  if (v === undefined) return null;
  return INTEGERS.has(t) ? Number(v) : v;
}

function messageOut(m: DescMessage, msg: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    visible(m).map((f) => {
      const v = msg[f.localName];
      if (f.fieldKind === 'scalar') return [f.name, scalarOut(f.scalar, v)];
      if (f.fieldKind === 'message') return [f.name, f.message.typeName === TIMESTAMP ? iso(v as Timestamp | undefined) : v === undefined ? null : messageOut(f.message, v as Record<string, unknown>)];
      if (f.fieldKind === 'list') {
        const items = v as unknown[];
        return [f.name, f.listKind === 'message' ? items.map((x) => messageOut(f.message, x as Record<string, unknown>)) : f.listKind === 'scalar' ? items.map((x) => scalarOut(f.scalar, x)) : [...items]];
      }
      return [f.name, v ?? null];
    }),
  );
}

function scalarSchema(t: ScalarType): { type: string } {
  if (t === ScalarType.BOOL) return { type: 'boolean' };
  if (INTEGERS.has(t)) return { type: 'integer' };
  if (t === ScalarType.DOUBLE || t === ScalarType.FLOAT) return { type: 'number' };
  return { type: 'string' };
}

/** The JSON schema of a message as messageOut renders it (optional scalars and messages may be null). */
function messageSchema(m: DescMessage): Record<string, unknown> {
  const props = visible(m).map((f): [string, unknown] => {
    if (f.fieldKind === 'scalar') {
      const s = scalarSchema(f.scalar);
      return [f.name, f.proto.proto3Optional ? { type: [s.type, 'null'] } : s];
    }
    if (f.fieldKind === 'message') return [f.name, f.message.typeName === TIMESTAMP ? { type: ['string', 'null'] } : messageSchema(f.message)];
    if (f.fieldKind === 'list') return [f.name, { type: 'array', items: f.listKind === 'message' ? messageSchema(f.message) : f.listKind === 'scalar' ? scalarSchema(f.scalar) : {} }];
    return [f.name, {}];
  });
  return { type: 'object', properties: Object.fromEntries(props) };
}

/** The REST shape of a catalog product (what catalogProductSchema describes). */
export function productOut(p: catalog.Product): Record<string, unknown> {
  return messageOut(catalog.ProductSchema, p as unknown as Record<string, unknown>);
}

/** The JSON schema of productOut's answer (serialization and the OpenAPI document). */
export const catalogProductSchema = messageSchema(catalog.ProductSchema);

export function priceChangeOut(c: catalog.PriceChange) {
  return { field: c.field, from: c.from ?? null, to: c.to ?? null, changed_at: iso(c.changedAt), run_id: c.runId };
}
