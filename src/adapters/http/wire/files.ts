import { z } from '@hono/zod-openapi';
import { FILE_PURPOSES, type FileRecord } from '../../../domain/index.js';
import { listSchema, pageQuery, unixSeconds } from './common.js';

/* OpenAI's Files API: https://platform.openai.com/docs/api-reference/files */

export const FILES_UPLOAD_PATH = '/v1/files';

export const FileSchema = z
  .object({
    id: z.string(),
    object: z.literal('file'),
    bytes: z.number().int(),
    created_at: z.number().int().openapi({ description: 'Unix seconds.' }),
    expires_at: z.number().int().openapi({ description: 'Unix seconds; the file is deleted then.' }),
    filename: z.string(),
    purpose: z.enum(FILE_PURPOSES),
    status: z.literal('processed'),
    status_details: z.null(),
  })
  .openapi('File');

export const FileListSchema = listSchema(FileSchema, 'FileList');

export const FileListQuerySchema = pageQuery(10_000, 10_000).extend({
  purpose: z.enum(FILE_PURPOSES).optional().openapi({ param: { name: 'purpose', in: 'query' } }),
  order: z.enum(['asc', 'desc']).default('desc').openapi({ param: { name: 'order', in: 'query' }, description: 'By creation time.' }),
});

/**
 * The upload's multipart body, for the document only: a plain OpenAPI
 * schema, not zod, so that no validator buffers the body; the route streams
 * it into the store as it arrives.
 */
export const UPLOAD_BODY_DOCUMENT = {
  type: 'object' as const,
  required: ['file', 'purpose'],
  properties: {
    file: { type: 'string' as const, format: 'binary', description: 'JSON lines, one request each.' },
    purpose: { type: 'string' as const, enum: ['batch'] },
    'expires_after[anchor]': { type: 'string' as const, enum: ['created_at'] },
    'expires_after[seconds]': { type: 'integer' as const, minimum: 3600, maximum: 2592000 },
  },
};

export const FileDeletedSchema = z.object({ id: z.string(), object: z.literal('file'), deleted: z.literal(true) }).openapi('FileDeleted');

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
