// The catalog's NOT_FOUND (BatchRejection, INVALID_ARGUMENT, is in product-input); catalogErrors
// in catalog-service.ts gives both their status codes.
export class NotFound extends Error {}
