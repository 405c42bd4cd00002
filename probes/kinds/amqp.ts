import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ChannelModel } from 'amqplib';
import { defineKind, secretUrlOnly } from '../define.ts';
import { since, untilAborted } from './abort.ts';

/** Connects, declares a temporary queue, publishes a message with confirmation and gets it back. `url`: amqp://user:password@host:port/vhost. */
export const amqp = defineKind({
  kind: 'amqp',
  ...secretUrlOnly,
  async run(config, context) {
    const { connect } = await import('amqplib');
    const start = performance.now();
    let connection: ChannelModel | undefined;
    const release = () => void connection?.close().catch(() => {});
    try {
      // The socket timeout bounds the AMQP handshake, which the abort cannot reach: amqplib keeps its socket to itself until connected.
      connection = await untilAborted(connect(config.url.reveal(), { timeout: context.timeout }), context.signal, release, (late) => void late.close().catch(() => {}));
      connection.on('error', () => {});
      const connected = performance.now();
      const channel = await untilAborted(connection.createConfirmChannel(), context.signal, release);
      const { queue } = await untilAborted(channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false }), context.signal, release);
      const declared = performance.now();
      const body = randomBytes(8).toString('hex');
      channel.sendToQueue(queue, Buffer.from(body));
      await untilAborted(channel.waitForConfirms(), context.signal, release);
      const message = await untilAborted(channel.get(queue, { noAck: true }), context.signal, release);
      const timings = { connect: since(start, connected), declare: since(connected, declared), publishGet: since(declared, performance.now()) };
      if (!message || message.content.toString() !== body) return { success: false, failure: 'assertion', reason: 'the published message did not come back from the temporary queue', timings };
      return { success: true, timings };
    } finally {
      release();
    }
  },
});
