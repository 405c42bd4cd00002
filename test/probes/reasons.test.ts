import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { amqp, http, postgres, redis, smtp, tcp } from '../../app/index.ts';
import type { AnyProbeDefinition } from '../../probes/define.ts';
import { startBlackHole, type BlackHole } from '../support/black-hole.ts';
import { run } from './support.ts';

// The reason of a failed run says what went wrong in words a person can act on, for every kind.

let closedPort: number;
let hole: BlackHole;

beforeAll(async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedPort = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  hole = await startBlackHole();
});

afterAll(() => hole.close());

it.each<[string, () => AnyProbeDefinition]>([
  ['http', () => http({ name: 'refused-http', url: `http://127.0.0.1:${closedPort}/` })],
  ['tcp', () => tcp({ name: 'refused-tcp', host: '127.0.0.1', port: closedPort })],
  ['postgres', () => postgres({ name: 'refused-postgres', url: `postgres://vigil:pw@127.0.0.1:${closedPort}/vigil` })],
  ['redis', () => redis({ name: 'refused-redis', url: `redis://127.0.0.1:${closedPort}` })],
  ['amqp', () => amqp({ name: 'refused-amqp', url: `amqp://guest:guest@127.0.0.1:${closedPort}` })],
  ['smtp', () => smtp({ name: 'refused-smtp', url: `smtp://127.0.0.1:${closedPort}` })],
])('%s names the refused address', async (_kind, definition) => {
  const { result, outcome } = await run(definition());
  expect(result.reason).toBe(`connection refused at 127.0.0.1:${closedPort} (ECONNREFUSED)`);
  expect(outcome.failure).toBe('connection_refused');
});

it('tcp says the server stayed silent when the expected text never came', async () => {
  const { result, outcome } = await run(tcp({ name: 'silent-tcp', host: '127.0.0.1', port: hole.port, send: 'PING\r\n', expectContains: '+PONG', timeout: '300ms' }));
  expect(result.reason).toBe('connected, but the server did not send "+PONG" within 300ms (got "")');
  expect(outcome.failure).toBe('timeout');
});
