// The one place every gRPC server checks its input: each request message against the rulebook
// (`rules.requestRules` in @haier-sync/contracts), before any handler runs. A broken rule answers
// INVALID_ARGUMENT naming the field (`scope.product_codes[3]: "x y" is not a Haier product code:
// …`, and the field in `x-invalid-field` metadata), so the edge turns it into the same 400.
import type { DescMessage } from '@bufbuild/protobuf';
import type { Interceptor } from '@connectrpc/connect';
import { rules } from '@haier-sync/contracts';
import { invalidArgument } from './errors';

function check(desc: DescMessage, message: unknown): void {
  const v = rules.violation(desc, message as Record<string, unknown>);
  if (v) throw invalidArgument(v.problem, v.field);
}

export function validationInterceptor(): Interceptor {
  return (next) => async (req) => {
    const input = req.method.input;
    if (!rules.hasRules(input)) return next(req);
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
