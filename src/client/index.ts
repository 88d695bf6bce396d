// The SDK: imports nothing of the server, only the shared HTTP semantics.
export { ReceiptClient, type Answer, type Order, type OrderOutcome, type PlacedOrder, type Product, type RequestOptions, type TokenPair } from './client.ts';
export { ConnectionError, ReceiptError, RedirectError } from './errors.ts';
export { normalizeOptions, DEFAULT_RETRY, type ClientOptions } from './options.ts';
export { isSafeToRetry, retryDelay, type RetryPolicy } from './retry.ts';
