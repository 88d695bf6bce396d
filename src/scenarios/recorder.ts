/**
 * Records every HTTP exchange that goes through a dispatcher (an undici interceptor), so a scenario can print what
 * was said on the wire — the SDK's own requests (refreshes, reconciliation) included.
 */
import { Agent, DecoratorHandler, type Dispatcher } from 'undici';

export interface Exchange {
  method: string;
  path: string;
  requestHeaders: Record<string, string>;
  requestBody?: string;
  status?: number;
  headers: Record<string, string>;
  body: string;
  error?: string;
}

const BODY_KEEP = 600;

function flatten(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(h)) {
    for (let i = 0; i < h.length; i += 2) out[String(h[i]).toLowerCase()] = String(h[i + 1]);
  } else if (h && typeof h === 'object') {
    for (const [k, v] of Object.entries(h as Record<string, unknown>)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/** undici 7's DecoratorHandler implements the new handler API at run time; its typings list only the legacy one. */
interface ForwardingHandler {
  onResponseStart(c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[]>, message?: string): void;
  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void;
  onResponseEnd(c: Dispatcher.DispatchController, trailers: Record<string, string | string[]>): void;
  onResponseError(c: Dispatcher.DispatchController, error: Error): void;
}
const Forwarding = DecoratorHandler as unknown as new (handler: Dispatcher.DispatchHandler) => ForwardingHandler & Dispatcher.DispatchHandler;

class Recording extends Forwarding {
  readonly #x: Exchange;
  readonly #done: (x: Exchange) => void;
  constructor(handler: Dispatcher.DispatchHandler, x: Exchange, done: (x: Exchange) => void) {
    super(handler);
    this.#x = x;
    this.#done = done;
  }
  override onResponseStart(...args: [Dispatcher.DispatchController, number, Record<string, string | string[]>, string?]) {
    this.#x.status = args[1];
    this.#x.headers = flatten(args[2]);
    return super.onResponseStart(...args);
  }
  override onResponseData(...args: [Dispatcher.DispatchController, Buffer]) {
    if (this.#x.body.length < BODY_KEEP) this.#x.body += args[1].toString('utf8', 0, Math.min(args[1].length, BODY_KEEP));
    return super.onResponseData(...args);
  }
  override onResponseEnd(...args: [Dispatcher.DispatchController, Record<string, string | string[]>]) {
    this.#done(this.#x);
    return super.onResponseEnd(...args);
  }
  override onResponseError(...args: [Dispatcher.DispatchController, Error]) {
    this.#x.error = args[1].message;
    this.#done(this.#x);
    return super.onResponseError(...args);
  }
}

export class Recorder {
  exchanges: Exchange[] = [];
  readonly dispatcher: Dispatcher;

  constructor(opts: { insecure?: boolean } = {}) {
    const base = new Agent({ connect: { rejectUnauthorized: !opts.insecure } });
    this.dispatcher = base.compose((dispatch) => (options, handler) => {
      const body = typeof options.body === 'string' ? options.body : undefined;
      const x: Exchange = {
        method: options.method,
        path: options.path,
        requestHeaders: flatten(options.headers),
        ...(body !== undefined ? { requestBody: body } : {}),
        headers: {},
        body: '',
      };
      return dispatch(options, new Recording(handler as Dispatcher.DispatchHandler, x, (done) => this.exchanges.push(done)));
    });
  }

  /** Takes the exchanges recorded since the last call. */
  take(): Exchange[] {
    return this.exchanges.splice(0);
  }
}
