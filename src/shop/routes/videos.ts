/**
 * Media with range requests (docs/status-codes.md, "206"; RFC 9110 §14). `@fastify/send` parses Range, answers
 * 206 with Content-Range, 416 with a Content-Range naming the size, and streams from disk. The validator is ours:
 * send makes weak ETags and matches If-Range loosely, while If-Range needs a strong, exact comparison (§13.1.5); so
 * the preconditions step answers If-None-Match (304) with our strong ETag, and If-Range is decided here.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import send from '@fastify/send';
import { Type } from 'typebox';
import { parseEtag, parseHttpDate, problemOf, strongEtag, strongMatch } from '../../http/index.ts';
import { notFound } from '../decision/locate.ts';
import { defineRoute } from '../decision/types.ts';

/** Videos change only by being replaced (a new ETag): caches may keep them an hour. */
const VIDEO_CACHE = 'public, max-age=3600';

interface Media {
  name: string;
  file: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** Whether If-Range lets the Range stand (§13.1.5): a strong exact ETag match, or a date equal to Last-Modified. */
function ifRangeHolds(value: string, media: Media): boolean {
  const tag = parseEtag(value);
  if (tag) return strongMatch(tag, parseEtag(media.etag)!);
  const date = parseHttpDate(value.trim());
  return date !== undefined && Math.floor(date.getTime() / 1000) === Math.floor(media.lastModified.getTime() / 1000);
}

export function videoRoutes(videoDir: string) {
  return [
    defineRoute({
      method: 'GET',
      url: '/videos/:name',
      summary: 'A video, with range requests (206, 416, If-Range)',
      tags: ['media'],
      access: 'public',
      usesDatabase: false,
      schema: { params: Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', examples: ['movie.mp4'] }) }, { additionalProperties: false }) },
      async locate({ params }): Promise<Media> {
        const file = path.join(videoDir, params.name);
        const stat = await fs.promises.stat(file).catch(() => undefined);
        if (!stat?.isFile()) throw notFound('Video', { name: params.name });
        // Size and modification time, as nginx does: any rewrite of the file changes the tag.
        return { name: params.name, file, size: stat.size, etag: strongEtag(stat.size.toString(16), Math.floor(stat.mtimeMs).toString(16)), lastModified: stat.mtime };
      },
      etag: (m: Media) => m.etag,
      cacheControl: VIDEO_CACHE,
      success: {
        200: { description: 'The whole file', headers: ['ETag', 'Accept-Ranges', 'Last-Modified', 'Cache-Control'] },
        206: { description: 'The requested byte range', headers: ['Content-Range', 'ETag', 'Accept-Ranges', 'Cache-Control'] },
        304: { description: 'Your copy is current', headers: ['ETag'] },
      },
      extraProblems: { 416: 'The range is outside the file (Content-Range: bytes */size)' },
      async handle({ req, resource }) {
        const headers: Record<string, string | string[] | undefined> = { ...req.headers };
        // Range is defined for GET only (§14.2): a HEAD with Range gets the 200 headers.
        if (req.method !== 'GET') delete headers.range;
        if (headers['if-range'] !== undefined && !ifRangeHolds(String(headers['if-range']), resource)) delete headers.range;
        for (const h of ['if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since']) delete headers[h];
        // root + name: send's dotfile rule then looks at the name only, not at DATA_DIR (./.receipt by default).
        const result = await send({ headers, method: req.method } as unknown as Readable, `/${resource.name}`, {
          root: videoDir,
          acceptRanges: true,
          etag: false,
          lastModified: true,
          // The same Cache-Control on 200, 206 and (from the preconditions step) 304.
          cacheControl: false,
          dotfiles: 'deny',
        });
        if (result.type === 'error' || (result.statusCode !== 200 && result.statusCode !== 206)) {
          result.stream?.destroy?.();
          if (result.statusCode === 416) {
            throw problemOf('range-not-satisfiable', {
              detail: `The range is outside the file (${resource.size} bytes).`,
              headers: { 'content-range': `bytes */${resource.size}` },
            });
          }
          throw notFound('Video', {});
        }
        return { status: result.statusCode as 200 | 206, body: result.stream, headers: { ...result.headers, etag: resource.etag, 'cache-control': VIDEO_CACHE } };
      },
    }),
  ];
}
