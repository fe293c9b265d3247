import { resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { packageDir } from '../texml/package-dir.js';

export interface AudioRouteOptions {
  /** Folder of the MP3 prompts; default: `audio/` of the package. */
  audioDir?: string;
}

/** The shipped prompts: `audio/` of the package. */
export const DEFAULT_AUDIO_DIR = packageDir('audio');

/** Prompt file names: flat, lower-case, `.mp3` only; nothing else in the folder is reachable. */
const PROMPT_FILE = /^[a-z0-9-]+\.mp3$/;
const ONE_DAY_MS = 86_400_000;

/**
 * `GET /audio/<name>.mp3` (and HEAD): the prompts `<Play>` fetches (docs/interface.md §3). Served by
 * @fastify/static with range requests, `Cache-Control: public, max-age=86400`, ETag and
 * Last-Modified. Anything but a `[a-z0-9-]+.mp3` name is 404, so there is no directory listing and
 * no path to walk out of the folder.
 *
 * A plain (encapsulated) plugin: the `sendFile` decorator it registers stays inside it.
 */
export async function audioRoutes(app: FastifyInstance, opts: AudioRouteOptions): Promise<void> {
  await app.register(fastifyStatic, {
    root: resolve(opts.audioDir ?? DEFAULT_AUDIO_DIR),
    serve: false, // only the route below serves files
    index: false,
    list: false,
    dotfiles: 'deny',
    acceptRanges: true,
    etag: true,
    lastModified: true,
    cacheControl: true,
    maxAge: ONE_DAY_MS,
    // @fastify/static hands setHeaders the Fastify reply (not the raw response). Only MP3s get
    // here, so the type is pinned rather than left to the mime table.
    setHeaders(reply) {
      reply.header('content-type', 'audio/mpeg');
      reply.header('x-content-type-options', 'nosniff');
    },
  });

  app
    .withTypeProvider<TypeBoxTypeProvider>()
    .get('/audio/:name', { schema: { params: Type.Object({ name: Type.String() }) } }, (request, reply) => {
      const { name } = request.params;
      if (!PROMPT_FILE.test(name)) return reply.callNotFound();
      return reply.sendFile(name);
    });
}

export default audioRoutes;
