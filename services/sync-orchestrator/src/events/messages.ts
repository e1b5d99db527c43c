// What each relayed log entry becomes on the wire. Pure functions.
import { create, toBinary } from '@bufbuild/protobuf';
import { catalog, events } from '@haier-sync/contracts';
import type { OutgoingMessage } from './traced-publish';
import { CONTENT_TYPES, productKeySubject, productMsgId, productSubject, stockLowMsgId, stockLowSubject } from './subjects';

export interface LowStockRule {
  /** Headline quantity strictly below this raises catalog.stock.low. */
  threshold: number;
  /** The county the headline stock is for (first of SYNC_COUNTIES). */
  defaultCounty?: string;
}

/**
 * A catalog change -> ProductChanged on its subject; the same ProductChanged as the product's
 * value in the products bucket (unless `withBucket` is false: already written there); and
 * StockLow when a stock change leaves the headline below the threshold.
 */
export function changeToMessages(change: catalog.Change, prefix: string, rule: LowStockRule, withBucket = true): OutgoingMessage[] {
  const subject = productSubject(prefix, change.kind);
  if (!subject) return [];
  const out: OutgoingMessage[] = [];
  const event = create(events.ProductChangedSchema, {
    seq: change.seq,
    productCode: change.productCode,
    version: change.version,
    kind: change.kind,
    fields: change.fields,
    runId: change.runId,
    occurredAt: change.occurredAt,
    product: change.product,
  });
  const data = toBinary(events.ProductChangedSchema, event);
  const msgId = productMsgId(change.productCode, change.version);
  out.push({ subject, data, msgId, contentType: CONTENT_TYPES.productChanged });
  // a delisted product stays in the bucket as a tombstone (kind DELISTED): every value carries
  // its change seq, which is how a new term of the publisher finds where the bucket stands
  if (withBucket) out.push({ subject: productKeySubject(prefix, change.productCode), data, msgId, contentType: CONTENT_TYPES.productChanged });
  const low = stockLowOf(change, rule);
  if (low) {
    out.push({
      subject: stockLowSubject(prefix),
      data: toBinary(events.StockLowSchema, low),
      msgId: stockLowMsgId(change.productCode, change.version),
      contentType: CONTENT_TYPES.stockLow,
    });
  }
  return out;
}

export function stockLowOf(change: catalog.Change, rule: LowStockRule): events.StockLow | undefined {
  if (change.kind !== catalog.ChangeKind.STOCK_CHANGED) return undefined;
  const p = change.product;
  if (!p || p.stock === undefined) return undefined;
  if (p.stock >= BigInt(rule.threshold)) return undefined;
  const county =
    (rule.defaultCounty && p.countyStock.find((c) => c.countyCode === rule.defaultCounty)?.countyCode) ||
    rule.defaultCounty ||
    p.countyStock[0]?.countyCode ||
    '';
  return create(events.StockLowSchema, {
    productCode: change.productCode,
    countyCode: county,
    quantity: p.stock,
    threshold: BigInt(rule.threshold),
    runId: change.runId,
    observedAt: change.occurredAt,
  });
}
