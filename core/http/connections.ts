import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerClient: number;
  headersTimeout: number;
  keepAliveTimeout: number;
  /** A trusted reverse proxy's connections carry many clients: only the total cap applies to them. */
  isProxy?: (address: string) => boolean;
}

/** An open connection as the admission decision sees it. */
export interface OpenConnection {
  address: string;
  openedAt: number;
  /** A request's headers have arrived and its response is not finished yet. */
  inRequest: boolean;
}

export type Admission<C extends OpenConnection> =
  | { action: 'accept' }
  | { action: 'evict'; victim: C; limit: 'total' | 'client' }
  | { action: 'refuse'; limit: 'total' | 'client' };

/**
 * Whether a new connection from `address` may open. At a cap, the oldest connection with no request in progress
 * (still sending its headers, or idle between keep-alive requests) makes room for it, so clients that hold
 * connections without using them cannot lock out a health check; only when every connection at the cap is
 * serving a request is the new one refused.
 */
export function admitConnection<C extends OpenConnection>(open: Iterable<C>, address: string, limits: ConnectionLimits): Admission<C> {
  const all = [...open];
  const sameClient = all.filter((connection) => connection.address === address);
  const oldestIdle = (candidates: C[]) =>
    candidates.filter((connection) => !connection.inRequest).sort((a, b) => a.openedAt - b.openedAt)[0];
  if (!limits.isProxy?.(address) && sameClient.length >= limits.maxConnectionsPerClient) {
    const victim = oldestIdle(sameClient);
    return victim ? { action: 'evict', victim, limit: 'client' } : { action: 'refuse', limit: 'client' };
  }
  if (all.length >= limits.maxConnections) {
    const victim = oldestIdle(all);
    return victim ? { action: 'evict', victim, limit: 'total' } : { action: 'refuse', limit: 'total' };
  }
  return { action: 'accept' };
}

interface Tracked extends OpenConnection {
  socket: Socket;
  request?: IncomingMessage;
  /** When the next request's headers must have arrived (performance.now() ms), while none is in progress. */
  headersDueAt: number;
  headersDeadline?: NodeJS.Timeout;
}

const HEADERS_TIMEOUT_BODY = JSON.stringify({ error: { code: 'REQUEST_TIMEOUT', message: 'The request headers did not arrive in time.' } });
const HEADERS_TIMEOUT =
  'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n' +
  `Content-Length: ${Buffer.byteLength(HEADERS_TIMEOUT_BODY)}\r\n\r\n${HEADERS_TIMEOUT_BODY}`;

const REFUSAL_BODY = JSON.stringify({
  error: { code: 'TOO_MANY_CONNECTIONS', message: 'The server has too many open connections right now. Please try again in a few seconds.' },
});
const REFUSAL =
  'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n' +
  `Content-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\n\r\n${REFUSAL_BODY}`;

/** Applies the connection caps to `server` and closes connections whose request stalls mid-body, with metrics. */
export function guardConnections(server: Server, limits: ConnectionLimits, registry: Registry, now: () => number = Date.now): void {
  const open = new Map<Socket, Tracked>();
  new Gauge({
    name: 'vigil_http_open_connections',
    help: 'HTTP connections open now.',
    registers: [registry],
    collect() {
      this.set(open.size);
    },
  });
  const refused = new Counter({
    name: 'vigil_http_connections_refused_total',
    help: 'Connections answered 503 at once because a connection cap was reached with every connection busy, by cap.',
    labelNames: ['limit'],
    registers: [registry],
  });
  const evicted = new Counter({
    name: 'vigil_http_connections_evicted_total',
    help: 'Connections with no request in progress closed to make room for a new one at a cap, by cap.',
    labelNames: ['limit'],
    registers: [registry],
  });

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const admission = admitConnection(open.values(), address, limits);
    if (admission.action === 'refuse') {
      refused.inc({ limit: admission.limit });
      socket.end(REFUSAL);
      socket.once('finish', () => socket.destroy());
      return;
    }
    if (admission.action === 'evict') {
      evicted.inc({ limit: admission.limit });
      open.delete(admission.victim.socket);
      admission.victim.socket.destroy();
    }
    const tracked: Tracked = { socket, address, openedAt: now(), inRequest: false, headersDueAt: performance.now() + limits.headersTimeout };
    open.set(socket, tracked);
    armHeadersDeadline(tracked);
    socket.once('close', () => {
      clearTimeout(tracked.headersDeadline);
      open.delete(socket);
    });
  });

  // Node enforces headersTimeout too, but only on a periodic sweep that lets a slow client overstay by seconds
  // under load; a timer per connection holds the deadline to the millisecond. The timer is not moved per request
  // (a new timer per keep-alive request was a measurable part of a small GET): when it fires early, it waits out
  // the rest of the deadline the last request moved; during a request it lapses, and the response's end arms it again.
  function armHeadersDeadline(tracked: Tracked) {
    // A deadline that passed while this was being armed is due at once (Node warns of a negative delay).
    const delay = Math.max(0, tracked.headersDueAt - performance.now());
    tracked.headersDeadline = setTimeout(() => {
      tracked.headersDeadline = undefined;
      if (tracked.inRequest || tracked.socket.destroyed) return;
      const left = tracked.headersDueAt - performance.now();
      if (left > 0) return armHeadersDeadline(tracked);
      tracked.socket.end(HEADERS_TIMEOUT);
      tracked.socket.once('finish', () => tracked.socket.destroy());
    }, delay);
    tracked.headersDeadline.unref();
  }

  server.on('request', (request, response) => {
    const tracked = open.get(request.socket);
    if (!tracked) return;
    tracked.inRequest = true;
    tracked.request = request;
    response.once('close', () => {
      tracked.inRequest = false;
      tracked.request = undefined;
      // The next request on a kept-alive connection may start any time before keepAliveTimeout closes it.
      tracked.headersDueAt = performance.now() + limits.keepAliveTimeout + limits.headersTimeout;
      if (!tracked.socket.destroyed && tracked.headersDeadline === undefined) armHeadersDeadline(tracked);
    });
  });

  // The socket idle timeout (server.timeout) fired. With this listener Node leaves the decision to us: a request
  // still arriving, or no request at all, is a client holding the connection; a handler still at work is not.
  server.on('timeout', (socket: Socket) => {
    const tracked = open.get(socket);
    const handlerAtWork = tracked?.request?.complete === true;
    if (!handlerAtWork) socket.destroy();
  });
}
