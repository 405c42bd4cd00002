import { randomBytes } from 'node:crypto';
import type { ChannelModel } from 'amqplib';
import { defineKind, secretUrlOnly } from '../define.ts';
import { abortable } from './abort.ts';
import { stopwatch } from './timing.ts';

/** Connects, declares a temporary queue, publishes a message with confirmation and gets it back. `url`: amqp://user:password@host:port/vhost. */
export const amqp = defineKind({
  kind: 'amqp',
  ...secretUrlOnly,
  async run(config, context) {
    const { connect } = await import('amqplib');
    let connection: ChannelModel | undefined;
    const release = () => void connection?.close().catch(() => {});
    const orAbort = abortable(context.signal, release);
    const clock = stopwatch();
    try {
      // The socket timeout bounds the AMQP handshake, which the abort cannot reach: amqplib keeps its socket to itself until connected.
      connection = await orAbort(connect(config.url.reveal(), { timeout: context.timeout }), (late) => void late.close().catch(() => {}));
      connection.on('error', () => {});
      clock.lap('connect');
      const channel = await orAbort(connection.createConfirmChannel());
      const { queue } = await orAbort(channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false }));
      clock.lap('declare');
      const body = randomBytes(8).toString('hex');
      channel.sendToQueue(queue, Buffer.from(body));
      await orAbort(channel.waitForConfirms());
      const message = await orAbort(channel.get(queue, { noAck: true }));
      clock.lap('publishGet');
      const timings = clock.laps();
      if (!message || message.content.toString() !== body) return { success: false, failure: 'assertion', reason: 'the published message did not come back from the temporary queue', timings };
      return { success: true, timings };
    } finally {
      release();
    }
  },
});
