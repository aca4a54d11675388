import { describe, expect, it } from 'vitest';
import { createHttpApp, type HttpUseCases } from '../../src/adapters/http/app.js';
import { MemoryKeyRing } from '../../src/adapters/memory/memory-key-ring.js';
import { MemoryMetrics } from '../../src/adapters/memory/memory-metrics.js';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { CapacityExceededError, ServiceUnavailableError } from '../../src/domain/index.js';
import { LogSink } from '../support/log-sink.js';

function appFailingWith(error: unknown) {
  const fail = async (): Promise<never> => {
    throw error;
  };
  const useCases: HttpUseCases = {
    submitEmbedding: { execute: fail },
    getTaskStatus: { execute: fail },
    listModels: { execute: fail },
    getModel: { execute: fail },
    modelTokens: { tokenize: fail, decode: fail },
    checkReadiness: { execute: async () => ({ ready: false, checks: { queue: { status: 'failing', detail: 'down' } } }) },
    createEmbeddings: { execute: fail },
    rerank: { execute: fail },
    cancelTask: { execute: fail },
    files: { upload: fail, list: fail, get: fail, content: fail, remove: fail },
    batches: { create: fail, get: fail, list: fail, cancel: fail },
    operatorConsole: { overview: fail, subscribe: () => () => undefined, tasks: fail, deadLetters: fail, resolveDeadLetter: fail },
    rateLimits: { admitRequest: async () => ({}) },
  };
  const logs = new LogSink();
  const app = createHttpApp(useCases, { bodyLimitBytes: 1000, defaultModelId: 'm', limits: { maxInputs: 10, maxInputChars: 100 }, keys: new MemoryKeyRing([]), corsOrigins: [], console: {}, version: '0.0.0', tei: { maxConcurrentRequests: 1, maxBatchTokens: 1, maxBatchRequests: 1, maxClientBatchSize: 1 } }, {
    logger: createPinoLogger({ level: 'info', destination: logs }),
    metrics: new MemoryMetrics(),
  });
  const submit = () =>
    Promise.resolve(app.request('/v1/embeddings/tasks', { method: 'POST', body: '{"input":"x"}', headers: { 'content-type': 'application/json' } }));
  return { app, logs, submit };
}

describe('error mapping', () => {
  it('turns an unexpected error into a 500 whose message stays in the log', async () => {
    const { logs, submit } = appFailingWith(new Error('secret connection string redis://:hunter2@db'));
    const response = await submit();
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text)).toMatchObject({ code: 'internal_error', status: 500 });
    expect(logs.lines.some((l) => l.level === 'error' && JSON.stringify(l).includes('hunter2'))).toBe(true);
  });

  it('answers a full queue with 503 and Retry-After', async () => {
    const response = await appFailingWith(new CapacityExceededError('queue full', 7)).submit();
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toMatchObject({ code: 'capacity_exceeded' });
  });

  it('answers an unreachable dependency with 503', async () => {
    const response = await appFailingWith(new ServiceUnavailableError('broker down')).submit();
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: 'service_unavailable' });
  });

  it('reports not ready with 503 and the failing check', async () => {
    const response = await appFailingWith(new Error('unused')).app.request('/health/ready');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'not_ready', checks: { queue: { status: 'failing', detail: 'down' } } });
  });
});
