import { z } from 'zod';
import { createMailer, MailError } from '../../core/mail.ts';
import { htmlOf, subjectOf, textOf } from '../messages.ts';
import { DeliveryError } from '../../core/outbox.ts';
import { ALL_EVENTS, defineReceiver } from './receiver.ts';

/** One Message-ID per notification, the same on every retry and unique across installations (mail systems drop the copy a retry in doubt may send). */
export const messageIdOf = (key: string, installationId: string) => `<${key.replace(/[^a-zA-Z0-9.-]/g, '.')}.${installationId}@vigil.alerts>`;

/**
 * Plain text and HTML email through the shared SMTP transport (SMTP_URL, SMTP_FROM). Every message about one
 * incident threads under its first one (In-Reply-To, References).
 */
export const email = defineReceiver({
  type: 'email',
  constructorName: 'emailReceiver',
  outOfBandByDefault: true,
  options: { to: z.array(z.string().min(3)).min(1) },
  problems: (_settings, config) => (config.smtp.url ? [] : ['no SMTP server is configured (set SMTP_URL or smtp.url), so this email receiver cannot send']),
  create(name, settings, context) {
    const mailer = createMailer(context.config.smtp);
    return {
      name,
      events: ALL_EVENTS,
      async deliver({ key, event, incidents, earlier }) {
        const message = { event, incidents, now: context.clock.now(), links: context.links };
        const references = earlier.map((previous) => messageIdOf(previous, context.installationId));
        try {
          await mailer.send({
            to: settings.to,
            subject: subjectOf(message),
            text: textOf(message),
            html: htmlOf(message),
            headers: {
              'Message-ID': messageIdOf(key, context.installationId),
              ...(references.length > 0 ? { 'In-Reply-To': references[0]!, References: references.join(' ') } : {}),
              'X-Vigil-Event': event,
            },
          });
        } catch (error) {
          // No SMTP reply at all (the connection dropped): the message may have been accepted, so the retry, with the same Message-ID, is in doubt.
          if (error instanceof MailError) throw new DeliveryError(error.message, { temporary: error.temporary, inDoubt: error.responseCode === undefined });
          throw error;
        }
        return undefined;
      },
      close: () => mailer.close(),
    };
  },
});
