import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { OpenAPIHono } from '@hono/zod-openapi';
import busboy from 'busboy';
import { z } from 'zod';
import { MalformedRequestError, ValidationError, type FileRecord } from '../../../domain/index.js';
import { unixSeconds } from '../serialize.js';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { parseOrThrow } from '../validation.js';

/** OpenAI's file object. Times are Unix seconds, as OpenAI's are. */
export function serializeFile(file: FileRecord) {
  return {
    id: file.id,
    object: 'file' as const,
    bytes: file.bytes,
    created_at: unixSeconds(file.createdAt),
    expires_at: unixSeconds(file.expiresAt),
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed' as const,
    status_details: null,
  };
}

const ListQuery = z.object({
  purpose: z.enum(['batch', 'batch_output']).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).max(128).optional(),
});

/**
 * OpenAI's Files API (`/v1/files`) for batch inputs. An upload is streamed
 * from the multipart body into the file store as it arrives, never held in
 * memory, and refused the moment it passes the size or line limit.
 */
export function fileRoutes(useCases: Pick<HttpUseCases, 'files'>) {
  const app = new OpenAPIHono<HttpEnv>();
  const files = useCases.files;

  app.post('/v1/files', async (c) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^multipart\/form-data/i.test(type) || !c.req.raw.body) {
      throw new MalformedRequestError('Upload a file as multipart/form-data, with the fields file and purpose.');
    }
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': type }, limits: { files: 1, fields: 10, fieldSize: 1024, parts: 12 } });
    } catch (error) {
      throw new MalformedRequestError(`The multipart body cannot be read: ${(error as Error).message}`);
    }
    const fields: Record<string, string> = {};
    let filename = 'upload.jsonl';
    parser.on('field', (name, value) => (fields[name] = value));
    const finished = new Promise<void>((resolve, reject) => {
      parser.on('close', resolve);
      parser.on('error', (error: Error) => reject(new MalformedRequestError(`The multipart body cannot be read: ${error.message}`)));
    });
    const file = new Promise<Readable>((resolve, reject) => {
      parser.on('file', (name, stream, info) => {
        if (name !== 'file') {
          stream.resume();
          return;
        }
        filename = info.filename || filename;
        resolve(stream);
      });
      void finished.then(() => reject(new ValidationError('The upload has no file.', [{ path: 'file', message: 'required' }])), reject);
    });
    const body = Readable.fromWeb(c.req.raw.body as WebReadableStream<Uint8Array>);
    body.on('error', (error) => parser.destroy(error));
    body.pipe(parser);
    try {
      const record = await files.upload(
        await file,
        finished.then(() => {
          const seconds = fields['expires_after[seconds]'];
          return { filename, purpose: fields.purpose, ...(seconds !== undefined && { expiresAfterSeconds: Number(seconds) }) };
        }),
        c.get('principal'),
      );
      return c.json(serializeFile(record), 200);
    } catch (error) {
      // Refused mid-upload: stop reading the rest, and end the connection with the answer.
      body.unpipe(parser);
      body.destroy();
      c.set('closeConnection', true);
      throw error;
    }
  });

  app.get('/v1/files', async (c) => {
    const { limit, ...query } = parseOrThrow(ListQuery, c.req.query(), 'The query does not match the schema.', '(query)');
    // One more than asked tells whether there is more.
    const page = await files.list(c.get('principal'), { ...query, limit: limit + 1 });
    const data = page.slice(0, limit).map(serializeFile);
    return c.json({ object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.length > limit });
  });

  app.get('/v1/files/:id', async (c) => c.json(serializeFile(await files.get(c.req.param('id'), c.get('principal')))));

  app.get('/v1/files/:id/content', async (c) => {
    const { file, content } = await files.content(c.req.param('id'), c.get('principal'));
    return c.body(Readable.toWeb(Readable.from(content)) as ReadableStream, 200, {
      'content-type': 'application/octet-stream',
      'content-length': String(file.bytes),
      'content-disposition': `attachment; filename="${file.filename.replace(/["\\\r\n]/g, '_')}"`,
    });
  });

  app.delete('/v1/files/:id', async (c) => {
    const id = c.req.param('id');
    await files.remove(id, c.get('principal'));
    return c.json({ id, object: 'file' as const, deleted: true });
  });
  return app;
}
