/**
 * One HTTP/1.x request as the gateway's request path sees it: the shape of Node's IncomingMessage that gateway.ts
 * and proxy.ts use (method, url, version, headers, raw fields, a readable body, trailers), built from a head the
 * gateway parsed itself. `received` keeps the head exactly as it came, for the classifier and the log.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type net from 'node:net';
import { Readable } from 'node:stream';
import { forwardableFields, type Framing } from '../wire/framing.ts';
import { versionNumbers, type RequestHead } from '../wire/head.ts';

// Fields of which Node keeps the first and drops repeats; the gateway's objects read the same.
const SINGLE = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);

/** A flat raw list as Node's header object: lower-case names, repeats joined (RFC 9110 §5.3), Cookie with `; `. */
export function headerObject(raw: readonly string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prior = out[name];
    if (prior === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (prior as string[]).push(value);
    else if (!SINGLE.has(name)) out[name] = `${prior as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out as IncomingHttpHeaders;
}

// eslint-disable-next-line no-control-regex -- control characters, space and non-ASCII bytes are what it encodes
const NOT_URI = /[\x00-\x20\x7f-\xff]/g;

/**
 * The request target as the gateway routes and forwards it: bytes no URI may hold (RFC 3986 §2 — controls, space,
 * anything beyond ASCII, as in a raw UTF-8 path) percent-encoded, as a browser would have sent them. The target as
 * received is what the classifier judges and what the log's classification is about.
 */
export function forwardableTarget(target: string): string {
  return target.replace(NOT_URI, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export class H1Request extends Readable {
  readonly method: string;
  readonly url: string;
  /** `1.1`, `1.0`; what follows `HTTP/` for other versions, `0.9` when the line has none. */
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** The fields the gateway may forward (forwardableFields), as a flat list and as Node's object. */
  readonly rawHeaders: string[];
  readonly headers: IncomingHttpHeaders;
  rawTrailers: string[] = [];
  trailers: IncomingHttpHeaders = {};
  complete = false;

  constructor(
    readonly received: RequestHead,
    readonly framing: Framing,
    readonly socket: net.Socket,
    private readonly onRead: () => void,
  ) {
    super();
    this.method = received.method;
    this.url = forwardableTarget(received.target);
    const [major, minor] = versionNumbers(received.version);
    this.httpVersionMajor = major;
    this.httpVersionMinor = minor;
    this.httpVersion = received.version.startsWith('HTTP/') ? `${major}.${minor}` : '0.9';
    this.rawHeaders = forwardableFields(received.fields);
    this.headers = headerObject(this.rawHeaders);
  }

  override _read(): void {
    this.onRead();
  }

  /** The body's last bytes came: trailers (forwardable ones) set, then the stream ends. */
  finish(trailers: readonly string[]): void {
    // Nearly every body has none: the empty list and object the request was made with stay.
    if (trailers.length > 0) {
      this.rawTrailers = forwardableFields(trailers);
      this.trailers = headerObject(this.rawTrailers);
    }
    this.complete = true;
    this.push(null);
  }
}
