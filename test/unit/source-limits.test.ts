import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.js';

/*
 * Limits the code is held to (duplication is held by jscpd in npm run lint):
 * a file past 250 lines usually holds two jobs, and `as unknown as` is a
 * cast the compiler cannot check.
 */

const MAX_LINES = 250;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : Promise.resolve(entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []))),
  );
  return nested.flat();
}

describe('the source', async () => {
  const files = await Promise.all(
    (await sourceFiles(join(REPO_ROOT, 'src'))).map(async (path) => ({ path: relative(REPO_ROOT, path), text: await readFile(path, 'utf8') })),
  );

  it('has no .ts file over 250 lines', () => {
    expect(files.length).toBeGreaterThan(100);
    const long = files.map(({ path, text }) => ({ path, lines: text.split('\n').length - 1 })).filter(({ lines }) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it('has no double cast through unknown', () => {
    expect(files.filter(({ text }) => /as unknown as/.test(text)).map(({ path }) => path)).toEqual([]);
  });
});
