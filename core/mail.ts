import { createRequire } from 'node:module';
import type * as Nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { CoreConfig } from './config/schema.ts';

export interface MailMessage {
  to: string | string[];
  subject: string;
  text: string;
  html?: string;
  headers?: Record<string, string>;
  attachments?: Array<{ filename: string; content: string; contentType: string }>;
}

/** Why a send failed, in the terms a retry policy needs. */
export class MailError extends Error {
  /** true for 4xx replies and connection trouble (try again later); false for 5xx (don't). */
  readonly temporary: boolean;
  readonly responseCode?: number;

  constructor(message: string, temporary: boolean, responseCode?: number) {
    super(message);
    this.name = 'MailError';
    this.temporary = temporary;
    if (responseCode !== undefined) this.responseCode = responseCode;
  }
}

export interface Mailer {
  readonly configured: boolean;
  send(message: MailMessage): Promise<{ messageId: string }>;
  close(): void;
}

/**
 * nodemailer, loaded when first needed, from its CommonJS build: its ES module build does `import http from 'node:http'`,
 * and building that namespace reads node:http's lazy `WebSocket` export, which loads Node's own copy of undici (the code
 * behind the global `fetch`, 745 KB of source) into a process that has undici already for its probes.
 */
export const loadNodemailer = (): typeof Nodemailer => createRequire(import.meta.url)('nodemailer');

/** One SMTP transport (nodemailer, SMTP_URL) shared by user notices and admin alerts. Errors never carry the URL's password. */
export function createMailer(smtp: CoreConfig['smtp']): Mailer {
  if (!smtp.url) {
    return {
      configured: false,
      send: async () => {
        throw new MailError('No SMTP server configured: set SMTP_URL (or smtp.url in vigil.config.ts).', false);
      },
      close: () => {},
    };
  }
  const url = smtp.url.reveal();
  // nodemailer is loaded at the first send: a process that never mails (most roles, most of the time) does without it.
  let transport: Promise<Transporter> | undefined;
  const opened = () => (transport ??= Promise.resolve().then(() => loadNodemailer().createTransport(url)));
  return {
    configured: true,
    async send(message) {
      try {
        const info = await (await opened()).sendMail({ from: smtp.from, ...message });
        return { messageId: String(info.messageId) };
      } catch (error) {
        throw classifyMailError(error);
      }
    },
    close: () => void transport?.then((opened) => opened.close()),
  };
}

function classifyMailError(error: unknown): MailError {
  const { responseCode, code, message } = error as { responseCode?: number; code?: string; message?: string };
  const text = `SMTP send failed: ${responseCode ? `${responseCode} ` : ''}${(message ?? String(error)).replace(/\/\/[^@/\s]+@/g, '//[redacted]@')}`;
  if (responseCode !== undefined) return new MailError(text, responseCode < 500, responseCode);
  // No SMTP reply at all: connection refused, timeout, TLS trouble. The server may come back.
  return new MailError(code ? `${text} (${code})` : text, true);
}
