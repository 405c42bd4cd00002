import type { Vigil } from './start.ts';

/** Resolves with the exit code once SIGTERM or SIGINT has stopped Vigil gracefully (0), or a second signal cut it short (1). */
export function stopOnSignals(vigil: Vigil, afterStop: () => Promise<void> = async () => {}): Promise<number> {
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        vigil.logger.warn({ signal }, 'second signal: exiting without waiting');
        resolve(1);
        return;
      }
      vigil.logger.info({ signal }, 'signal received');
      vigil
        .stop()
        .then(afterStop)
        .then(
          () => resolve(0),
          (error: unknown) => {
            vigil.logger.error({ err: error }, 'shutdown failed');
            resolve(1);
          },
        );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
