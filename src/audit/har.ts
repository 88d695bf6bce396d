/**
 * A HAR file (HTTP Archive 1.2, as browsers' devtools and proxies save it) read into exchanges, judged as recorded:
 * no request is sent. Browsers fill a 304's content from their cache and record no bytes for HEAD, so those bodies
 * are not judged here (the live audit reads them off the wire).
 */
import type { Exchange } from './types.ts';

interface HarHeader {
  name: string;
  value: string;
}
interface HarEntry {
  request: { method: string; url: string; headers?: HarHeader[]; postData?: { text?: string } };
  response: { status: number; headers?: HarHeader[]; content?: { text?: string; encoding?: string } };
}

export class HarError extends Error {
  override name = 'HarError';
}

const headerRecord = (list: HarHeader[] = []) => {
  const out: Record<string, string> = {};
  for (const { name, value } of list) {
    // HTTP/2 and HTTP/3 pseudo-header fields (RFC 9113 §8.3) are not fields of the message.
    if (name.startsWith(':')) continue;
    const k = name.toLowerCase();
    out[k] = out[k] === undefined ? value : `${out[k]}, ${value}`;
  }
  return out;
};

export function exchangesFromHar(text: string, file: string): Exchange[] {
  let har: { log?: { entries?: HarEntry[] } };
  try {
    har = JSON.parse(text) as typeof har;
  } catch (e) {
    throw new HarError(`${file}: not JSON (${(e as Error).message})`);
  }
  const entries = har.log?.entries;
  if (!Array.isArray(entries)) throw new HarError(`${file}: no log.entries — not a HAR file`);
  const out: Exchange[] = [];
  for (const [i, e] of entries.entries()) {
    // A request the browser never got an answer to (blocked, cancelled) is recorded with status 0: nothing to judge.
    if (!e?.request?.url || !e.response || !Number.isInteger(e.response.status) || e.response.status < 100) continue;
    const method = e.request.method.toUpperCase();
    const content = e.response.content;
    const raw = content?.text ?? '';
    const body = method === 'HEAD' || e.response.status === 304 ? '' : content?.encoding === 'base64' ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    out.push({
      probe: 'recorded',
      request: { method, url: e.request.url, headers: headerRecord(e.request.headers), ...(e.request.postData?.text !== undefined ? { body: e.request.postData.text } : {}) },
      response: { status: e.response.status, headers: headerRecord(e.response.headers), body },
      where: `${file}#entry ${i + 1}`,
    });
  }
  return out;
}
