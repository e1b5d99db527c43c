// Domain errors the RPC layer maps to gRPC codes (BatchRejection -> INVALID_ARGUMENT lives in product-input).
export class NotFound extends Error {}
