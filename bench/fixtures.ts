import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBertFolder, type BertShape } from '../test/support/bert-fixture.js';
import { REPO_ROOT } from '../test/support/paths.js';

export const CACHE = join(REPO_ROOT, '.cache', 'bench');

/** Bumped when the generated folder's layout changes, so that cached folders are written again. */
const LAYOUT = 2;

export const log = (line: string) => process.stderr.write(`${line}\n`);

/** A generated model folder of `shape`, cached across runs under `.cache/bench/<name>`. */
export async function modelFolder(name: string, shape: BertShape): Promise<string> {
  const dir = join(CACHE, name);
  const stamp = join(dir, 'shape.json');
  const wanted = JSON.stringify({ ...shape, layout: LAYOUT });
  if ((await readFile(stamp, 'utf8').catch(() => '')) !== wanted) {
    log(`generating ${name} (${shape.layers} layers, hidden ${shape.hidden})…`);
    await writeBertFolder(dir, { shape, maxSeqLength: 256, seed: 7 });
    await writeFile(stamp, wanted);
  }
  return dir;
}

/** CPU time (user + system) a process has used so far, in ms (Linux, from /proc). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name may hold spaces; fields are counted from after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
