import http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A real HTTP target the test takes down and brings back on the same port. */
export async function startTarget(port: number) {
  let server: http.Server | undefined;
  const up = () =>
    new Promise<void>((resolve) => {
      server = http.createServer((_request, response) => response.end('ok'));
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const down = () => new Promise<void>((resolve) => (server ? (server.closeAllConnections(), server.close(() => resolve())) : resolve()));
  await up();
  return { up, down };
}
