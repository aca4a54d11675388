import { z } from 'zod';
import { MAX_PRIORITY, MIN_PRIORITY, type TaskMessage } from '../../domain/index.js';

/** The wire format of a task message: JSON, with the date as ISO 8601. */
const WireMessage = z.strictObject({
  taskId: z.string().min(1),
  model: z.string().min(1),
  inputs: z.array(z.union([z.string(), z.array(z.number().int().min(0))])).min(1),
  priority: z.number().int().min(MIN_PRIORITY).max(MAX_PRIORITY),
  enqueuedAt: z.iso.datetime(),
  requestId: z.string().optional(),
  deadline: z.iso.datetime().optional(),
  lane: z.enum(['interactive', 'bulk']).optional(),
  rerank: z
    .strictObject({
      query: z.string().min(1),
      maxDocumentTokens: z.number().int().min(1).optional(),
      direction: z.enum(['right', 'left']).optional(),
      truncate: z.boolean().optional(),
    })
    .optional(),
  truncation: z
    .strictObject({
      direction: z.enum(['right', 'left']).optional(),
      truncate: z.boolean().optional(),
      maxTokens: z.number().int().min(1).optional(),
      windows: z
        .strictObject({ overlap: z.number().int().min(0), chunks: z.boolean(), maxTextTokens: z.number().int().min(1), promptLength: z.number().int().min(0).optional() })
        .optional(),
    })
    .optional(),
  normalize: z.literal(false).optional(),
  attempts: z.number().int().min(0).optional(),
  calls: z.number().int().min(2).optional(),
});

export function encodeMessage(message: TaskMessage): Buffer {
  return Buffer.from(
    JSON.stringify({ ...message, enqueuedAt: message.enqueuedAt.toISOString(), deadline: message.deadline?.toISOString() }),
  );
}

export type Decoded = { ok: true; message: TaskMessage } | { ok: false; reason: string };

/** Never throws: a message that is not what we publish is reported, to be dead-lettered. */
export function decodeMessage(content: Buffer): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = WireMessage.safeParse(json);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
    return { ok: false, reason };
  }
  const { deadline, ...fields } = parsed.data;
  return {
    ok: true,
    message: { ...fields, enqueuedAt: new Date(fields.enqueuedAt), ...(deadline !== undefined && { deadline: new Date(deadline) }) },
  };
}
