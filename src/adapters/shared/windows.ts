import { fitText, PayloadTooLargeError, ValidationError, windowRanges, type TextTruncation, type TextWindow, type TokenizedText } from '../../domain/index.js';

/** Where a model's limit is named when a text breaks it: the model, its tokens (special ones included), the input's JSON path. */
interface Limit {
  readonly model: string;
  readonly maxTokens: number;
  readonly path: string;
}

/**
 * A text's tokens (special tokens left out) as `truncation` asks, for a model
 * with `room` tokens besides its special tokens, which `wrap` adds: cut or
 * refused (`fitText`), or, asked for windows and too long for one, cut into
 * windows, each wrapped, with its place in the text when `spanOf` tells it.
 * A text longer than `windows.maxTextTokens` is refused (413), and an
 * overlap that leaves a window no new token (422).
 */
export function fitOrWindow(
  ids: readonly number[],
  room: number,
  truncation: TextTruncation,
  limit: Limit,
  wrap: (ids: readonly number[]) => TokenizedText,
  spanOf?: (start: number, end: number) => TextWindow['span'],
): TokenizedText {
  const windows = truncation.windows;
  if (!windows || ids.length <= room) {
    const { kept, dropped } = fitText(ids, room, truncation, limit);
    return { ...wrap(kept), ...(dropped > 0 && { dropped }) };
  }
  if (ids.length > windows.maxTextTokens) {
    const message = `this text takes ${ids.length} tokens; at most ${windows.maxTextTokens} are embedded whole`;
    throw new PayloadTooLargeError(`A text is too long to embed whole with model '${limit.model}'.`, [{ path: limit.path, message }]);
  }
  if (windows.overlap >= room) {
    const message = `must be below ${room}, the tokens a window of model '${limit.model}' holds besides its special tokens`;
    throw new ValidationError('chunk_overlap_tokens leaves a window no new token.', [{ path: 'chunk_overlap_tokens', message }]);
  }
  const parts: TextWindow[] = windowRanges(ids.length, room, windows.overlap).map(({ start, end }) => {
    const span = spanOf?.(start, end);
    return { ...wrap(ids.slice(start, end)), ...(span && { span }) };
  });
  const { span: _first, ...first } = parts[0]!;
  return { ...first, windows: parts };
}
