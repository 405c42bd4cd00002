import { z } from 'zod';
import { createMailer, MailError } from '../../core/mail.ts';
import { htmlOf, subjectOf, textOf } from '../messages.ts';
import { ALL_EVENTS, defineReceiver, DeliveryError } from './receiver.ts';

/** Plain text and HTML email through the shared SMTP transport (SMTP_URL, SMTP_FROM). */
export const email = defineReceiver({
  type: 'email',
  constructorName: 'emailReceiver',
  options: { to: z.array(z.string().min(3)).min(1) },
  problems: (_settings, config) => (config.smtp.url ? [] : ['no SMTP server is configured (set SMTP_URL or smtp.url), so this email receiver cannot send']),
  create(name, settings, context) {
    const mailer = createMailer(context.config.smtp);
    return {
      name,
      events: ALL_EVENTS,
      async deliver({ key, event, incidents }) {
        try {
          await mailer.send({
            to: settings.to,
            subject: subjectOf(event, incidents),
            text: textOf(event, incidents),
            html: htmlOf(event, incidents),
            // A stable Message-ID lets a mail system drop the copy a crash-and-retry might send.
            headers: { 'Message-ID': `<${key.replace(/[^a-zA-Z0-9.-]/g, '.')}@vigil.alerts>`, 'X-Vigil-Event': event },
          });
        } catch (error) {
          if (error instanceof MailError) throw new DeliveryError(error.message, { temporary: error.temporary });
          throw error;
        }
        return undefined;
      },
      close: () => mailer.close(),
    };
  },
});
