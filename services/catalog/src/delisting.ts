// MarkDelisted: a complete listing names every procurable code. Stored products missing from
// it are delisted (kept, with delisted_at); delisted ones that are back are relisted.
import type { EntityManager } from '@mikro-orm/postgresql';
import { appendChanges, type LogEntry } from './change-log';
import { BatchRejection } from './product-input';
import { query } from './sql';

// The listing's codes as a relation: `code <> all(array)` compares every product with every
// listed code (50,000 x 50,000 took ~20 s); (not) exists over this becomes a hashed (anti-)join.
const SEEN = `select 1 from json_array_elements_text(?::json) as s(code)`;
import { withRetry } from './transaction';

export interface DelistOutcome {
  delisted: string[];
  relisted: string[];
}

export async function markDelisted(em: EntityManager, codesSeen: readonly string[], opts: { runId: string; dryRun?: boolean }): Promise<DelistOutcome> {
  const codes = [...new Set(codesSeen.map((c) => c.trim()))];
  if (codes.length === 0) {
    throw new BatchRejection('codes_seen is empty: that would delist every product; pass the complete list of procurable codes from a full listing');
  }
  const bad = codesSeen.findIndex((c) => c.trim() === '');
  if (bad >= 0) throw new BatchRejection(`is empty: every code seen in the listing is a product code; drop the empty entry`, `codes_seen[${bad}]`);
  const seen = JSON.stringify(codes);
  return withRetry(() =>
    em.transactional(async (tem) => {
      if (opts.dryRun) {
        const d = await query<{ code: string }>(tem, `select code from catalog.product p where delisted_at is null and not exists (${SEEN} where s.code = p.code) order by code`, [seen]);
        const r = await query<{ code: string }>(tem, `select code from catalog.product p where delisted_at is not null and exists (${SEEN} where s.code = p.code) order by code`, [seen]);
        return { delisted: d.map((x) => x.code), relisted: r.map((x) => x.code) };
      }
      const delisted = await query<{ code: string; at: string }>(
        tem,
        `update catalog.product set delisted_at = now(), version = version + 1, updated_at = now()
         where delisted_at is null and not exists (${SEEN} where s.code = catalog.product.code)
         returning code, to_jsonb(delisted_at)::text as at`,
        [seen],
      );
      const relisted = await query<{ code: string; was: string }>(
        tem,
        `update catalog.product p set delisted_at = null, version = p.version + 1, updated_at = now()
         from catalog.product old where old.code = p.code and p.delisted_at is not null and exists (${SEEN} where s.code = p.code)
         returning p.code, to_jsonb(old.delisted_at)::text as was`,
        [seen],
      );
      const entries: LogEntry[] = [
        ...delisted.map((d): LogEntry => ({ code: d.code, kind: 'delisted', fields: [{ field: 'delisted_at', before: 'null', after: d.at }] })),
        ...relisted.map((r): LogEntry => ({ code: r.code, kind: 'relisted', fields: [{ field: 'delisted_at', before: r.was, after: 'null' }] })),
      ].sort((a, b) => (a.code < b.code ? -1 : 1));
      await appendChanges(tem, entries, opts.runId);
      return { delisted: delisted.map((d) => d.code).sort(), relisted: relisted.map((r) => r.code).sort() };
    }),
  );
}
