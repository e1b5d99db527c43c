// The one place every gRPC server checks its input: each request message against the rulebook
// (`rules.requestRules` in @haier-sync/contracts), before any handler runs. A broken rule answers
// INVALID_ARGUMENT naming the field (`scope.product_codes[3]: "x y" is not a Haier product code:
// …`, and the field in `x-invalid-field` metadata), so the edge turns it into the same 400. Every
// request, with rules or not, is also checked for strings Postgres cannot store (a NUL, a lone
// surrogate: storable.ts), which would otherwise fail a statement.
import type { DescMessage } from '@bufbuild/protobuf';
import type { Interceptor } from '@connectrpc/connect';
import { rules } from '@haier-sync/contracts';
import { invalidArgument } from './errors';
import { unstorableField } from './storable';

/** Requests whose items the service checks one by one (the catalog's product batch). */
const ITEMS_CHECKED_BY_HANDLER = new Set(['haiersync.catalog.v1.UpsertProductsRequest']);

function check(desc: DescMessage, message: unknown): void {
  const v = rules.hasRules(desc) ? rules.violation(desc, message as Record<string, unknown>) : undefined;
  if (v) throw invalidArgument(v.problem, v.field);
  // whatever the rulebook says of a field: no value Postgres cannot store (storable.ts); a bulk
  // write's items are the handler's (one bad item fails alone, the rest is written)
  const bad = ITEMS_CHECKED_BY_HANDLER.has(desc.typeName) ? undefined : unstorableField(message);
  if (bad) throw invalidArgument('contains a NUL character or an unpaired UTF-16 surrogate, which cannot be stored: remove it', bad);
}

export function validationInterceptor(): Interceptor {
  return (next) => async (req) => {
    const input = req.method.input;
    if (!req.stream) {
      check(input, req.message);
      return next(req);
    }
    // server-streaming and client-streaming calls: each incoming message as it arrives
    const src = req.message;
    async function* checked() {
      for await (const m of src) {
        check(input, m);
        yield m;
      }
    }
    return next({ ...req, message: checked() });
  };
}
