import { Tokenizer, TokenType } from '@streamparser/json';
import type { MiddlewareHandler } from 'hono';
import {
  PayloadTooLargeError,
  ValidationError,
  type DomainError,
  type FieldIssue,
  type InputLimits,
} from '../../../domain/index.js';
import type { HttpEnv } from '../types.js';

/** Characters tokenized between two turns of the event loop. */
const CHUNK = 64 * 1024;
/** No valid body nests deeper than `{"input": [[…]]}`; this leaves room for any extra field a client sends. */
const MAX_DEPTH = 32;
/**
 * Values a body may hold outside an embeddings route's `input`: far more
 * than any request of this API sends (a batch's metadata holds 32 strings),
 * few enough to parse and check at no cost worth measuring.
 */
const MAX_OTHER_VALUES = 10_000;

/**
 * Refuses an oversized or absurdly nested JSON body before anything parses
 * it for real, on every route: it is registered for all of them, so a route
 * added later is guarded without a word. A streaming tokenizer walks the raw
 * body, a chunk per turn of the event loop, builds no value, and stops at
 * the first item past a limit. So a body of millions of tiny items
 * (`[null,null,…]`, `[{},{},…]`) costs a few kilobytes of tokenizing to
 * refuse and never holds up other requests.
 *
 * What passes is nested at most MAX_DEPTH deep and holds at most
 * MAX_OTHER_VALUES values, besides, on the routes `inputFieldOf` names a
 * field for, an input list of at most `maxInputs` inputs (or one token array of at most
 * `maxInputChars` ids), each at most `maxInputChars` long: bounded work for
 * JSON.parse and the schema, which judge everything else. A body that is not
 * JSON is left to the route, which refuses it (415) without parsing it.
 */
export function bodyGuard(limits: InputLimits, inputFieldOf: (path: string) => string | undefined): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    if (!carriesJson(c.req.method, c.req.header('content-type'))) return next();
    const problem = await scan(await c.req.text(), limits, c.req.method === 'POST' ? inputFieldOf(c.req.path) : undefined);
    if (problem) throw problem;
    await next();
  };
}

function carriesJson(method: string, contentType: string | undefined): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  return contentType !== undefined && /^application\/([\w.+-]*\+)?json\b/i.test(contentType.trim());
}

/**
 * Where the tokenizer is, in terms of `input`. Depth 1 is the body object;
 * `input`'s items are at depth 2, and the ids of a token-array item at 3.
 */
class InputScanner {
  private depth = 0;
  /** Per open container: whether it is an object expecting a key next. */
  private readonly expectsKey: boolean[] = [];
  private inputKeyNext = false;
  private inInput = false;
  private items = 0;
  private tokenArray = false;
  private itemLength = 0;
  private otherValues = 0;
  readonly long: FieldIssue[] = [];
  refused: DomainError | undefined;

  constructor(
    private readonly limits: InputLimits,
    /** The field of the body this route reads its inputs from (OpenAI's `input`, TEI's `inputs`), whose items have limits of their own. */
    private readonly field: string | undefined,
  ) {}

  token(token: TokenType, value: unknown): void {
    // The rest of the chunk still arrives after a refusal; it is not looked at.
    if (this.refused) return;
    switch (token) {
      case TokenType.LEFT_BRACE:
      case TokenType.LEFT_BRACKET:
        this.value(token === TokenType.LEFT_BRACKET ? 'array' : 'other');
        this.open(token === TokenType.LEFT_BRACE);
        return;
      case TokenType.RIGHT_BRACE:
      case TokenType.RIGHT_BRACKET:
        this.close();
        return;
      case TokenType.COMMA:
        if (this.expectsKey.length > 0 && this.isObject()) this.expectsKey[this.expectsKey.length - 1] = true;
        return;
      case TokenType.COLON:
        return;
      case TokenType.STRING:
        if (this.isObject() && this.expectsKey.at(-1)) {
          this.expectsKey[this.expectsKey.length - 1] = false;
          this.inputKeyNext = this.depth === 1 && value === this.field;
          return;
        }
        this.value(typeof value === 'string' ? value.length : 'other');
        return;
      default:
        this.value(token === TokenType.NUMBER ? 'number' : 'other');
    }
  }

  private readonly objects: boolean[] = [];

  private isObject(): boolean {
    return this.objects.at(-1) === true;
  }

  private open(isObject: boolean): void {
    this.depth++;
    this.objects.push(isObject);
    this.expectsKey.push(isObject);
    if (this.depth > MAX_DEPTH) {
      this.refused = new ValidationError(`The body nests deeper than ${MAX_DEPTH} levels.`, [
        { path: '(body)', message: `nested deeper than ${MAX_DEPTH} levels` },
      ]);
    }
  }

  private close(): void {
    if (this.inInput && this.depth === 3) this.endItem();
    if (this.inInput && this.depth === 2) this.inInput = false;
    this.depth--;
    this.objects.pop();
    this.expectsKey.pop();
  }

  /** A value starts at the current depth: a string (its length), a number, an array, or something else. */
  private value(kind: number | 'number' | 'array' | 'other'): void {
    if (this.inputKeyNext && this.depth === 1) {
      this.inputKeyNext = false;
      // `input` is about to open as an array: its items are counted as they start.
      this.inInput = kind === 'array';
      return;
    }
    if (!this.inInput) {
      if (++this.otherValues > MAX_OTHER_VALUES) {
        this.refused = new PayloadTooLargeError(`The body holds more than ${MAX_OTHER_VALUES} values.`, [
          { path: '(body)', message: `at most ${MAX_OTHER_VALUES} values` },
        ]);
      }
      return;
    }
    const length = kind;
    if (this.depth === 2) {
      if (this.items === 0 && kind === 'number') this.tokenArray = true;
      this.items++;
      const limit = this.tokenArray ? this.limits.maxInputChars : this.limits.maxInputs;
      if (this.items > limit) this.refused = this.tokenArray ? this.tooManyIds(this.field!) : this.tooManyItems();
      if (typeof length === 'number' && length > this.limits.maxInputChars) this.noteLong(this.items - 1, length);
      this.itemLength = 0;
    } else if (this.depth === 3) {
      this.itemLength++;
      if (this.itemLength > this.limits.maxInputChars) this.refused = this.tooManyIds(`${this.field!}[${this.items - 1}]`);
    }
  }

  private endItem(): void {
    this.itemLength = 0;
  }

  private noteLong(index: number, length: number): void {
    this.long.push({ path: `${this.field!}[${index}]`, message: `${length} characters; the limit is ${this.limits.maxInputChars}` });
  }

  get itemCount(): number {
    return this.items;
  }

  private tooManyItems(): PayloadTooLargeError {
    const max = this.limits.maxInputs;
    return new PayloadTooLargeError(`${this.field!} holds more than ${max} items; the limit is ${max}.`, [{ path: this.field!, message: `at most ${max} items` }]);
  }

  private tooManyIds(path: string): PayloadTooLargeError {
    const max = this.limits.maxInputChars;
    return new PayloadTooLargeError(`An input holds more than ${max} token ids.`, [{ path, message: `at most ${max} token ids` }]);
  }
}

async function scan(text: string, limits: InputLimits, inputField: string | undefined): Promise<DomainError | undefined> {
  const tokenizer = new Tokenizer();
  const scanner = new InputScanner(limits, inputField);
  let broken = false;
  tokenizer.onToken = ({ token, value }) => scanner.token(token, value);
  tokenizer.onError = () => (broken = true);
  for (let offset = 0; offset < text.length && !broken && !scanner.refused; offset += CHUNK) {
    if (offset > 0) await new Promise((resolve) => setImmediate(resolve));
    try {
      tokenizer.write(text.slice(offset, offset + CHUNK));
    } catch {
      broken = true;
    }
  }
  if (scanner.refused) return scanner.refused;
  if (scanner.long.length === 0) return undefined;
  // A list of one is named by its field alone (`input`), as the rest of the API names it.
  const issues = scanner.itemCount === 1 ? scanner.long.map((issue) => ({ ...issue, path: inputField! })) : scanner.long;
  return new PayloadTooLargeError(`A text is longer than ${limits.maxInputChars} characters.`, issues);
}
