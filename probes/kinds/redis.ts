import { randomBytes } from 'node:crypto';
import { defineKind, secretUrlOnly } from '../define.ts';
import { abortable } from './abort.ts';
import { stopwatch } from './timing.ts';

/** PING, then writes, reads back and deletes a short-lived key. `url`: redis://[:password@]host:port/db. */
export const redis = defineKind({
  kind: 'redis',
  ...secretUrlOnly,
  async run(config, context) {
    const { Redis } = await import('ioredis');
    const client = new Redis(config.url.reveal(), { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    // ioredis rejects a failed connect with "Connection is closed."; the socket's own error says why.
    let socketError: Error | undefined;
    client.on('error', (error: Error) => (socketError ??= error));
    const release = () => client.disconnect();
    const orAbort = abortable(context.signal, release);
    const clock = stopwatch();
    try {
      await orAbort(client.connect()).catch((error: unknown) => {
        throw socketError ?? error;
      });
      clock.lap('connect');
      const pong = await orAbort(client.ping());
      clock.lap('ping');
      const key = `vigil:probe:${context.probe}:${randomBytes(6).toString('hex')}`;
      const value = randomBytes(8).toString('hex');
      await orAbort(client.set(key, value, 'PX', 60_000));
      const read = await orAbort(client.get(key));
      await orAbort(client.del(key));
      clock.lap('roundTrip');
      const timings = clock.laps();
      if (pong !== 'PONG') return { success: false, failure: 'assertion', reason: `PING answered ${JSON.stringify(pong)}`, timings };
      if (read !== value) return { success: false, failure: 'assertion', reason: 'the key read back does not hold the value written', timings };
      return { success: true, timings };
    } finally {
      release();
    }
  },
});
