import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { secret } from '../../core/config/secret.ts';
import { loadNodemailer } from '../../core/mail.ts';
import { defineKind, urlTarget } from '../define.ts';
import { untilAborted } from './abort.ts';
import { since } from './timing.ts';

const options = z.strictObject({
  /** smtp://host:port or smtps://user:password@host:port; with credentials the probe also authenticates. Never printed. */
  url: secret(),
  /** Accept a certificate that does not verify (self-signed test servers). */
  insecure: z.boolean().default(false),
});

/** Connects, says EHLO (upgrading with STARTTLS when offered) and authenticates when the URL has credentials. */
export const smtp = defineKind({
  kind: 'smtp',
  options,
  target: (config) => urlTarget(config.url.reveal()),
  async run(config, context) {
    const nodemailer = loadNodemailer();
    const start = performance.now();
    // nodemailer reads `url` from the options object too, which lets the TLS setting ride along.
    // verify() cannot be aborted, so its socket is bounded by the attempt's timeout at every step instead.
    const limits = { connectionTimeout: context.timeout, greetingTimeout: context.timeout, socketTimeout: context.timeout };
    const transport = nodemailer.createTransport({ url: config.url.reveal(), tls: { rejectUnauthorized: !config.insecure }, ...limits } as Parameters<typeof nodemailer.createTransport>[0]);
    try {
      await untilAborted(transport.verify(), context.signal, () => transport.close());
      return { success: true, timings: { verify: since(start, performance.now()) }, details: { authenticated: new URL(config.url.reveal()).username !== '' } };
    } finally {
      transport.close();
    }
  },
});
