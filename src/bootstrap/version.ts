import { readFileSync } from 'node:fs';

/** This service's version, from its package.json (two folders up, from src/bootstrap and dist/bootstrap alike). */
export const SERVICE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
