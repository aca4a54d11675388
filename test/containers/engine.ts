import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

/*
 * The container engine the container tests drive: Docker, or podman where
 * scripts/containers.sh prepared it (CONTAINER_ENGINE=podman). Every command
 * runs with a timeout, and one that passes it has its whole process group
 * killed (podman-compose starts podman, which starts conmon): a stuck engine
 * fails the test, never hangs CI.
 */

export const ENGINE = process.env.CONTAINER_ENGINE ?? 'docker';
/** Images named in the Dockerfile's FROM are local stand-ins under podman here; Docker pulls them. */
const PULL = ENGINE === 'podman' ? ['--pull=never'] : [];

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(command: string, args: readonly string[], { timeoutMs = 120_000, cwd = REPO_ROOT, env }: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      killGroup(child.pid);
      reject(new Error(`${command} ${args.join(' ')} took more than ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Runs an engine command; a non-zero exit is an error that says what the engine printed. */
export async function engine(args: readonly string[], timeoutMs?: number): Promise<string> {
  const ran = await run(ENGINE, args, timeoutMs === undefined ? {} : { timeoutMs });
  if (ran.code !== 0) throw new Error(`${ENGINE} ${args.join(' ')} exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`);
  return ran.stdout.trim();
}

/** Whether the engine answers; under REQUIRE_CONTAINERS=1 (CI) one that does not is a failure, not a skip. */
export async function engineAnswers(): Promise<boolean> {
  const answers = (await run(ENGINE, ['info'], { timeoutMs: 30_000 }).catch(() => undefined))?.code === 0;
  if (!answers && process.env.REQUIRE_CONTAINERS === '1') {
    throw new Error(`REQUIRE_CONTAINERS=1 but ${ENGINE} does not answer: run scripts/containers.sh first (see docs/deployment.md)`);
  }
  return answers;
}

/** A name no other test run uses, for containers, networks and images. */
export function unique(label: string): string {
  return `es-${label}-${randomUUID().slice(0, 8)}`;
}

/**
 * Builds the repository's unchanged Dockerfile, from a copy of the build
 * context. npm in the build trusts what this machine's npm trusts: the extra
 * certificate authorities this machine adds (Debian keeps them in
 * /usr/local/share/ca-certificates) go into the copy's .npmrc, which only
 * the build stages read; the image that ships copies node_modules from
 * them, never the .npmrc (the image test checks).
 */
export async function buildImage(tag: string): Promise<{ extraCas: string[] }> {
  const context = await mkdtemp(join(tmpdir(), 'image-context-'));
  try {
    const ignored = (await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const skip = new Set(ignored.map((l) => l.replace(/\/$/, '')));
    await cp(REPO_ROOT, context, {
      recursive: true,
      filter: (source) => {
        const relative = source.slice(REPO_ROOT.length + 1);
        return relative === '' || ![...skip].some((s) => relative === s || relative.startsWith(`${s}/`) || (s.startsWith('*') && relative.endsWith(s.slice(1))));
      },
    });
    const extraCas = await machineCas();
    if (extraCas.length > 0) {
      const lines = extraCas.map((pem) => `ca[]="${pem.replaceAll('\n', '\\n')}"`).join('\n');
      await writeFile(join(context, '.npmrc'), `${await readFile(join(context, '.npmrc'), 'utf8')}\n${lines}\n`);
    }
    const format = ENGINE === 'podman' ? ['--format', 'docker'] : [];
    await engine(['build', ...PULL, ...format, '-t', tag, context], 20 * 60_000);
    return { extraCas };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** The certificate authorities this machine adds to the system's, as PEM. */
async function machineCas(): Promise<string[]> {
  const dir = '/usr/local/share/ca-certificates';
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.crt'));
  const pems = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
  return pems.flatMap((pem) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []);
}

/** Waits for a URL to answer 200. */
export async function untilOk(url: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(async () => (await fetch(url).catch(() => undefined))?.status === 200, timeoutMs, url);
}
