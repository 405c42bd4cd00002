import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { defineKind, secretUrlOnly } from '../define.ts';
import { since, untilAborted } from './abort.ts';

/** PING, then writes, reads back and deletes a short-lived key. `url`: redis://[:password@]host:port/db. */
export const redis = defineKind({
  kind: 'redis',
  ...secretUrlOnly,
  async run(config, context) {
    const { Redis } = await import('ioredis');
    const start = performance.now();
    const client = new Redis(config.url.reveal(), { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    // ioredis rejects a failed connect with "Connection is closed."; the socket's own error says why.
    let socketError: Error | undefined;
    client.on('error', (error: Error) => (socketError ??= error));
    const release = () => client.disconnect();
    try {
      await untilAborted(client.connect(), context.signal, release).catch((error: unknown) => {
        throw socketError ?? error;
      });
      const connected = performance.now();
      const pong = await untilAborted(client.ping(), context.signal, release);
      const pinged = performance.now();
      const key = `vigil:probe:${context.probe}:${randomBytes(6).toString('hex')}`;
      const value = randomBytes(8).toString('hex');
      await untilAborted(client.set(key, value, 'PX', 60_000), context.signal, release);
      const read = await untilAborted(client.get(key), context.signal, release);
      await untilAborted(client.del(key), context.signal, release);
      const timings = { connect: since(start, connected), ping: since(connected, pinged), roundTrip: since(pinged, performance.now()) };
      if (pong !== 'PONG') return { success: false, failure: 'assertion', reason: `PING answered ${JSON.stringify(pong)}`, timings };
      if (read !== value) return { success: false, failure: 'assertion', reason: 'the key read back does not hold the value written', timings };
      return { success: true, timings };
    } finally {
      release();
    }
  },
});
