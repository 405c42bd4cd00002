import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { z } from 'zod';
import { defineKind } from '../define.ts';
import { tlsFigures } from './http.ts';

const options = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** Wrap the connection in TLS (certificate verified unless `insecure`). */
  tls: z.boolean().default(false),
  insecure: z.boolean().default(false),
  /** Text written after connecting (e.g. "PING\r\n"). */
  send: z.string().optional(),
  /** Text the server must send back (a banner or the answer to `send`). */
  expectContains: z.string().optional(),
});

/** Opens a TCP (or TLS) connection, optionally exchanges a line, and closes it. */
export const tcp = defineKind({
  kind: 'tcp',
  options,
  run: (config, context) =>
    new Promise((resolve, reject) => {
      const start = performance.now();
      const marks: Record<string, number> = {};
      const socket = config.tls
        ? tls.connect({ host: config.host, port: config.port, servername: net.isIP(config.host) ? '' : config.host, rejectUnauthorized: !config.insecure })
        : net.connect({ host: config.host, port: config.port });
      const observed = context.observed ?? {};
      const literal = net.isIP(config.host);
      if (literal) Object.assign(observed, { ipProtocol: literal, dnsLookupSeconds: 0 });
      socket.once('lookup', (_error: Error | null, _address: string, family: number | string | null) => {
        Object.assign(observed, { dnsLookupSeconds: (performance.now() - start) / 1000, ...(family === 4 || family === 6 ? { ipProtocol: family } : {}) });
      });
      let received = '';
      const finish = (error?: Error) => {
        context.signal.removeEventListener('abort', onAbort);
        socket.destroy();
        const timings = Object.fromEntries(Object.entries(marks).map(([name, at]) => [name, Math.round((at - start) * 1000) / 1000]));
        if (error) return reject(error);
        if (config.expectContains !== undefined && !received.includes(config.expectContains)) {
          return resolve({ success: false, failure: 'assertion', reason: `the server did not send "${config.expectContains}" (got ${JSON.stringify(received.slice(0, 200))})`, timings });
        }
        resolve({ success: true, timings, details: { received: received.slice(0, 200) } });
      };
      const onAbort = () => finish(context.signal.reason as Error);
      context.signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', finish);
      socket.once('connect', () => (marks.connect = performance.now()));
      socket.once(config.tls ? 'secureConnect' : 'connect', () => {
        if (config.tls) {
          marks.tls = performance.now();
          Object.assign(observed, tlsFigures(socket as tls.TLSSocket));
        }
        if (config.send !== undefined) socket.write(config.send);
        if (config.expectContains === undefined) return finish();
        socket.on('data', (chunk: Buffer) => {
          received += chunk.toString('utf8');
          if (received.includes(config.expectContains!)) finish();
        });
        socket.once('end', () => finish());
      });
    }),
});
