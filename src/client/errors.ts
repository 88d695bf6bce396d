/** What the SDK throws: one class per kind of failure, each carrying what a caller needs to decide. */
import { isProblem, parseBearerChallenge, type Problem } from '../http/index.ts';

/** Any non-2xx answer. */
export class ReceiptError extends Error {
  override name = 'ReceiptError';
  readonly status: number;
  readonly problem: Problem | undefined;
  readonly requestId: string | undefined;
  readonly retryAfter: string | undefined;
  readonly rateLimit: { limit?: number; remaining?: number; reset?: number } | undefined;
  /** Parameters of the Bearer challenge, if any (error, error_description, scope). */
  readonly challenge: Record<string, string> | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, headers: Record<string, string>, body: unknown) {
    const problem = isProblem(body) ? body : undefined;
    super(`${status}${problem ? ` ${problem.title}: ${problem.detail}` : ''}`);
    this.status = status;
    this.problem = problem;
    this.headers = headers;
    this.requestId = headers['x-request-id'] ?? (problem?.request_id as string | undefined);
    this.retryAfter = headers['retry-after'];
    const num = (h: string) => (headers[h] === undefined ? undefined : Number(headers[h]));
    this.rateLimit =
      headers['x-ratelimit-limit'] !== undefined
        ? { limit: num('x-ratelimit-limit'), remaining: num('x-ratelimit-remaining'), reset: num('x-ratelimit-reset') }
        : undefined;
    this.challenge = parseBearerChallenge(headers['www-authenticate']);
  }
}

/** The connection failed before any answer: nothing is known about whether the request was processed. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Too many redirects, or a loop. */
export class RedirectError extends Error {
  override name = 'RedirectError';
}
