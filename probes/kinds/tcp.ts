import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { z } from 'zod';
import { formatDuration } from '../../core/config/duration.ts';
import { assertionsSchema, firstFailure } from '../assertions.ts';
import { defineKind } from '../define.ts';
import { since } from './timing.ts';
import { addressFigures, familyProblem, ipFamilyField, tlsFigures, trustFields } from './http.ts';

const options = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** Wrap the connection in TLS (certificate verified unless `insecure`). */
  tls: z.boolean().default(false),
  insecure: z.boolean().default(false),
  /** With `tls`: a private authority (`ca`) and a client certificate (`cert` + `key`), PEM text. */
  ...trustFields(''),
  ipFamily: ipFamilyField(),
  /** Text written after connecting (e.g. "PING\r\n"). */
  send: z.string().optional(),
  /** Text the server must send back (a banner or the answer to `send`). */
  expectContains: z.string().optional(),
  /** Checks built with `assert`: received (the text the server sent), responseTime, certDaysLeft (with tls). */
  assertions: assertionsSchema(['received', 'responseTime', 'certDaysLeft']),
});

/** Opens a TCP (or TLS) connection, optionally exchanges a line, and closes it. */
export const tcp = defineKind({
  kind: 'tcp',
  options,
  target: (config) => `${config.host}:${config.port}`,
  problems: (config) => [
    ...familyProblem(config.host, config.ipFamily),
    ...((config.cert === undefined) !== (config.key === undefined) ? ['cert: cert and key go together: give both for a client certificate, or neither'] : []),
    ...(!config.tls && (config.ca ?? config.cert) !== undefined ? ['tls: ca, cert and key are for TLS connections: set tls: true'] : []),
  ],
  run: (config, context) =>
    new Promise((resolve, reject) => {
      const start = performance.now();
      const marks: Record<string, number> = {};
      const family = config.ipFamily ? { family: config.ipFamily } : {};
      const trust = { ...(config.ca ? { ca: config.ca } : {}), ...(config.cert && config.key ? { cert: config.cert, key: config.key.reveal() } : {}) };
      const socket = config.tls
        ? tls.connect({ host: config.host, port: config.port, ...family, servername: net.isIP(config.host) ? '' : config.host, rejectUnauthorized: !config.insecure, ...trust })
        : net.connect({ host: config.host, port: config.port, ...family });
      const reads = config.expectContains !== undefined || config.assertions.some((assertion) => assertion.source === 'received');
      const observed = context.observed ?? {};
      if (net.isIP(config.host)) Object.assign(observed, { dnsLookupSeconds: 0, ...addressFigures(config.host) });
      socket.once('lookup', (_error: Error | null, address: string) => {
        Object.assign(observed, { dnsLookupSeconds: (performance.now() - start) / 1000, ...addressFigures(address) });
      });
      let received = '';
      let certDaysLeft: number | undefined;
      const finish = (error?: Error) => {
        context.signal.removeEventListener('abort', onAbort);
        socket.destroy();
        const timings = Object.fromEntries(Object.entries(marks).map(([name, at]) => [name, since(start, at)]));
        if (error) return reject(error);
        const details = { received: received.slice(0, 200), ...(certDaysLeft !== undefined ? { certDaysLeft } : {}) };
        if (config.expectContains !== undefined && !received.includes(config.expectContains)) {
          const when = context.signal.aborted ? ` within ${formatDuration(context.timeout)}` : ' before closing';
          return resolve({ success: false, failure: context.signal.aborted ? 'timeout' : 'assertion', reason: `connected, but the server did not send "${config.expectContains}"${when} (got ${JSON.stringify(received.slice(0, 200))})`, timings, details });
        }
        const responseTime = since(start, performance.now());
        const failed = firstFailure(config.assertions, (assertion) => (assertion.source === 'received' ? received : assertion.source === 'responseTime' ? responseTime : (certDaysLeft ?? null)));
        if (failed) return resolve({ success: false, failure: 'assertion', reason: failed, timings, details });
        resolve({ success: true, timings, details });
      };
      // Once connected, a timeout while waiting for the expected text is the server's silence, said as such.
      const onAbort = () => finish(marks.connect !== undefined && reads ? undefined : (context.signal.reason as Error));
      context.signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', finish);
      socket.once('connect', () => (marks.connect = performance.now()));
      socket.once(config.tls ? 'secureConnect' : 'connect', () => {
        if (config.tls) {
          marks.tls = performance.now();
          const expiry = Date.parse((socket as tls.TLSSocket).getPeerCertificate().valid_to ?? '');
          if (!Number.isNaN(expiry)) certDaysLeft = Math.floor((expiry - Date.now()) / 86_400_000);
          Object.assign(observed, tlsFigures(socket as tls.TLSSocket));
        }
        if (config.send !== undefined) socket.write(config.send);
        if (!reads) return finish();
        socket.on('data', (chunk: Buffer) => {
          received += chunk.toString('utf8');
          if (config.expectContains !== undefined && received.includes(config.expectContains)) finish();
        });
        socket.once('end', () => finish());
      });
    }),
});
