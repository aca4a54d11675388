import { ConfigError, loadConfig } from './config/load.js';
import { startService } from './service.js';

/*
 * The one entry point: `tsx src/bootstrap/main.ts [--mode api|worker|all]`
 * (or MODE). Exits 2 on bad configuration, 1 on a failed start, 0 after a
 * clean shutdown on SIGTERM or SIGINT.
 */

/** Signals this close together are one signal delivered twice. */
const DUPLICATE_SIGNAL_MS = 1_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig({ env: process.env, argv: process.argv.slice(2) });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const service = await startService(config);
  service.modelsSettled.catch((error: unknown) => {
    process.stderr.write(`the worker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
  let stoppingSince: number | undefined;
  const shutdown = (signal: string) => {
    if (stoppingSince !== undefined) {
      // Ctrl-C under npm delivers SIGINT twice at once (from the terminal and from npm): that is one
      // request. A signal a moment later is the operator's, who does not want to wait for the grace period.
      if (Date.now() - stoppingSince < DUPLICATE_SIGNAL_MS) return;
      process.stderr.write(`${signal} received again; exiting now\n`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    process.stderr.write(`${signal} received; shutting down\n`);
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
