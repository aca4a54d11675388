import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

/** Metric names the dashboards' Prometheus queries use, read from the dashboard files themselves. */
export async function dashboardMetrics(): Promise<{ ours: Set<string>; rabbitmq: Set<string> }> {
  const dir = join(REPO_ROOT, 'mlops/grafana/dashboards');
  const exprs: string[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(await readFile(join(dir, file), 'utf8')) as { panels: { targets?: { expr?: string }[] }[] };
    for (const panel of dashboard.panels) for (const target of panel.targets ?? []) if (target.expr) exprs.push(target.expr);
  }
  const names = exprs.flatMap((e) => [...e.matchAll(/\b((?:embedding|rabbitmq)_[a-z0-9_]+)\b/g)].map((m) => m[1]!));
  return {
    ours: new Set(names.filter((n) => n.startsWith('embedding_'))),
    rabbitmq: new Set(names.filter((n) => n.startsWith('rabbitmq_'))),
  };
}

export function exportedNames(exposition: string): Set<string> {
  return new Set(
    exposition
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]),
  );
}

