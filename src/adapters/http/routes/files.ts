import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import busboy from 'busboy';
import { MalformedRequestError, ValidationError } from '../../../domain/index.js';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { IdParamSchema, listPage, NEEDS_API_KEY } from '../wire/common.js';
import { openAiErrors } from '../wire/errors.js';
import { FileDeletedSchema, FILES_UPLOAD_PATH, FileListQuerySchema, FileListSchema, FileSchema, serializeFile, UPLOAD_BODY_DOCUMENT } from '../wire/files.js';

const upload = createRoute({
  method: 'post',
  path: FILES_UPLOAD_PATH,
  security: NEEDS_API_KEY,
  tags: ['Files'],
  summary: 'Upload a batch input file',
  description: 'Streamed into the store as it arrives; refused (413) the moment it passes the size or line limit.',
  request: { body: { required: true, content: { 'multipart/form-data': { schema: UPLOAD_BODY_DOCUMENT } } } },
  responses: {
    200: { description: 'The stored file', content: { 'application/json': { schema: FileSchema } } },
    ...openAiErrors(400, 401, 413, 422, 429, 503),
  },
});

const list = createRoute({
  method: 'get',
  path: '/v1/files',
  security: NEEDS_API_KEY,
  tags: ['Files'],
  summary: 'The caller’s files',
  request: { query: FileListQuerySchema },
  responses: {
    200: { description: 'A page of files', content: { 'application/json': { schema: FileListSchema } } },
    ...openAiErrors(401, 422, 429),
  },
});

const get = createRoute({
  method: 'get',
  path: '/v1/files/{id}',
  security: NEEDS_API_KEY,
  tags: ['Files'],
  summary: 'One file',
  request: { params: IdParamSchema },
  responses: {
    200: { description: 'The file', content: { 'application/json': { schema: FileSchema } } },
    ...openAiErrors(401, 404, 429),
  },
});

const content = createRoute({
  method: 'get',
  path: '/v1/files/{id}/content',
  security: NEEDS_API_KEY,
  tags: ['Files'],
  summary: 'A file’s bytes, as uploaded or as a batch wrote them',
  request: { params: IdParamSchema },
  responses: {
    200: { description: 'The file’s content', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
    ...openAiErrors(401, 404, 429),
  },
});

const remove = createRoute({
  method: 'delete',
  path: '/v1/files/{id}',
  security: NEEDS_API_KEY,
  tags: ['Files'],
  summary: 'Delete a file',
  request: { params: IdParamSchema },
  responses: {
    200: { description: 'Deleted', content: { 'application/json': { schema: FileDeletedSchema } } },
    ...openAiErrors(401, 404, 429),
  },
});

/**
 * OpenAI's Files API (`/v1/files`) for batch inputs. An upload is streamed
 * from the multipart body into the file store as it arrives, never held in
 * memory, and refused the moment it passes the size or line limit.
 */
export function fileRoutes(useCases: Pick<HttpUseCases, 'files'>) {
  const app = new OpenAPIHono<HttpEnv>();
  const files = useCases.files;

  app.openapi(upload, async (c) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^multipart\/form-data/i.test(type) || !c.req.raw.body) {
      throw new MalformedRequestError('Upload a file as multipart/form-data, with the fields file and purpose.');
    }
    const { parser, fields, file, finished } = multipartUpload(type);
    const body = Readable.fromWeb(c.req.raw.body as WebReadableStream<Uint8Array>);
    body.on('error', (error) => parser.destroy(error));
    body.pipe(parser);
    try {
      const record = await files.upload(
        await file,
        finished.then(() => {
          const seconds = fields.values['expires_after[seconds]'];
          return { filename: fields.filename, purpose: fields.values.purpose, ...(seconds !== undefined && { expiresAfterSeconds: Number(seconds) }) };
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

  app.openapi(list, async (c) => {
    const { limit, ...query } = c.req.valid('query');
    // One more than asked tells whether there is more.
    const page = await files.list(c.get('principal'), { ...query, limit: limit + 1 });
    return c.json(listPage(page, limit, serializeFile), 200);
  });

  app.openapi(get, async (c) => c.json(serializeFile(await files.get(c.req.valid('param').id, c.get('principal'))), 200));

  app.openapi(content, async (c) => {
    const { file, content } = await files.content(c.req.valid('param').id, c.get('principal'));
    return c.body(Readable.toWeb(Readable.from(content)) as ReadableStream, 200, {
      'content-type': 'application/octet-stream',
      'content-length': String(file.bytes),
      'content-disposition': `attachment; filename="${file.filename.replace(/["\\\r\n]/g, '_')}"`,
    });
  });

  app.openapi(remove, async (c) => {
    const { id } = c.req.valid('param');
    await files.remove(id, c.get('principal'));
    return c.json({ id, object: 'file' as const, deleted: true as const }, 200);
  });
  return app;
}

/** A multipart parser that hands over the `file` part as a stream, and the other fields once the body has ended. */
function multipartUpload(contentType: string) {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, limits: { files: 1, fields: 10, fieldSize: 1024, parts: 12 } });
  } catch (error) {
    throw new MalformedRequestError(`The multipart body cannot be read: ${(error as Error).message}`);
  }
  const fields = { filename: 'upload.jsonl', values: {} as Record<string, string> };
  parser.on('field', (name, value) => (fields.values[name] = value));
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
      fields.filename = info.filename || fields.filename;
      resolve(stream);
    });
    void finished.then(() => reject(new ValidationError('The upload has no file.', [{ path: 'file', message: 'required' }])), reject);
  });
  return { parser, fields, file, finished };
}
