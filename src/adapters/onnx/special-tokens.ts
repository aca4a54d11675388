import type { TokenizedText } from '../../domain/index.js';

/** One piece of a template: special tokens, or where a sequence goes; each with its segment (type) id. */
type Piece = { readonly special: readonly number[]; readonly typeId: number } | { readonly sequence: 'A' | 'B'; readonly typeId: number };

/**
 * Where a tokenizer puts its special tokens around one text and around a
 * pair, read from tokenizer.json's post-processor: [CLS] A [SEP] and
 * [CLS] A [SEP] B [SEP] for BERT, <s> A </s> and <s> A </s></s> B </s> for
 * RoBERTa. Applying a template to token ids cut beforehand is how the
 * service keeps the special tokens whatever it cuts.
 */
export class SpecialTokens {
  private constructor(
    private readonly single: readonly Piece[],
    private readonly pair: readonly Piece[],
  ) {}

  static fromTokenizerJson(json: TokenizerJson): SpecialTokens {
    const processor = json.post_processor;
    if (processor?.type === 'TemplateProcessing' && processor.single) {
      const pieces = (template: readonly TemplatePiece[] = []): Piece[] =>
        template.map((piece) =>
          piece.SpecialToken
            ? { special: processor.special_tokens?.[piece.SpecialToken.id]?.ids ?? [], typeId: piece.SpecialToken.type_id ?? 0 }
            : { sequence: piece.Sequence?.id === 'B' ? 'B' : 'A', typeId: piece.Sequence?.type_id ?? 0 },
        );
      return new SpecialTokens(pieces(processor.single), pieces(processor.pair));
    }
    if (processor?.cls && processor.sep) {
      const cls = { special: [processor.cls[1]], typeId: 0 };
      const sep = (typeId: number) => ({ special: [processor.sep![1]], typeId });
      const a = { sequence: 'A' as const, typeId: 0 };
      if (processor.type === 'RobertaProcessing') return new SpecialTokens([cls, a, sep(0)], [cls, a, sep(0), sep(0), { sequence: 'B', typeId: 0 }, sep(0)]);
      return new SpecialTokens([cls, a, sep(0)], [cls, a, sep(0), { sequence: 'B', typeId: 1 }, sep(1)]);
    }
    return new SpecialTokens([{ sequence: 'A', typeId: 0 }], [{ sequence: 'A', typeId: 0 }, { sequence: 'B', typeId: 1 }]);
  }

  /** Special tokens around one text. */
  get singleCount(): number {
    return count(this.single);
  }

  /** Special tokens around a pair. */
  get pairCount(): number {
    return count(this.pair);
  }

  wrap(a: readonly number[]): TokenizedText {
    return apply(this.single, a, []);
  }

  wrapPair(a: readonly number[], b: readonly number[]): TokenizedText {
    return apply(this.pair, a, b);
  }
}

function count(template: readonly Piece[]): number {
  return template.reduce((sum, piece) => sum + ('special' in piece ? piece.special.length : 0), 0);
}

function apply(template: readonly Piece[], a: readonly number[], b: readonly number[]): TokenizedText {
  const ids: number[] = [];
  const typeIds: number[] = [];
  for (const piece of template) {
    const tokens = 'special' in piece ? piece.special : piece.sequence === 'A' ? a : b;
    for (const id of tokens) {
      ids.push(id);
      typeIds.push(piece.typeId);
    }
  }
  return { ids, typeIds };
}

interface TemplatePiece {
  readonly SpecialToken?: { readonly id: string; readonly type_id?: number };
  readonly Sequence?: { readonly id: 'A' | 'B'; readonly type_id?: number };
}

export interface TokenizerJson {
  readonly post_processor?: {
    readonly type?: string;
    readonly single?: readonly TemplatePiece[];
    readonly pair?: readonly TemplatePiece[];
    readonly special_tokens?: Readonly<Record<string, { ids: number[] }>>;
    readonly cls?: [string, number];
    readonly sep?: [string, number];
  } | null;
}
