import dgram from 'node:dgram';
import net from 'node:net';
import * as packet from 'dns-packet';

/**
 * How long a test's SMTP server lets open connections finish once closed (smtp-server waits 30 s by default): a message
 * held unanswered keeps its connection open, and a test that closes its server has nothing left to receive.
 */
export const SMTP_CLOSE_TIMEOUT = 500;

/** A port nothing listens on (bound and released at once), for a process the test starts or a target that refuses. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An authoritative DNS server on UDP: every A query gets two answers, one NS in authority and one glue A in additional. */
export async function startDnsServer(): Promise<{ address: string; socket: dgram.Socket }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, peer) => {
    const query = packet.decode(message);
    const name = query.questions?.[0]?.name ?? 'x';
    const response = packet.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: packet.AUTHORITATIVE_ANSWER,
      questions: query.questions ?? [],
      answers: [{ type: 'A', name, ttl: 60, data: '10.0.0.7' }, { type: 'A', name, ttl: 60, data: '10.0.0.8' }],
      authorities: [{ type: 'NS', name, ttl: 60, data: 'ns1.vigil.test' }],
      additionals: [{ type: 'A', name: 'ns1.vigil.test', ttl: 60, data: '10.0.0.53' }],
    });
    socket.send(response, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${socket.address().port}`, socket };
}
