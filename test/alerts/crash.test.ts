// kill -9 of a real `vigil start` process while the SMTP server holds its final answer to DATA: the server has the whole
// message, Vigil has no answer. After a restart on the same data directory the notification is in doubt and sent again
// with the same Message-ID, which mail systems and clients collapse into one: at most two copies, never none.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVigilProcess, type RunningVigil } from '../operator/support.ts';
import { waitFor } from '../support/wait.ts';
import { startSmtp } from './support.ts';

const CONFIG = path.join(import.meta.dirname, 'fixtures/smtp-crash.config.ts');

describe('an email in flight across a kill -9', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let target: http.Server;
  let vigil: RunningVigil | undefined;

  beforeAll(async () => {
    smtp = await startSmtp();
    // Always down: the incident opens at the first probe run.
    target = http.createServer((_request, response) => response.writeHead(503).end('down'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', () => resolve()));
  });

  afterAll(async () => {
    await vigil?.stop();
    await smtp?.close();
    await new Promise((resolve) => (target.closeAllConnections(), target.close(resolve)));
  });

  it('the SMTP server has the message but not yet answered when the process is killed: after restart it is resent once with the same Message-ID', async () => {
    const env = { SMTP_URL: smtp.url, TARGET_URL: `http://127.0.0.1:${(target.address() as AddressInfo).port}/` };
    // The server takes the first message in full and keeps its final answer until the process is dead.
    smtp.hold = 1;
    vigil = await startVigilProcess({ config: CONFIG, env });
    await waitFor('the WARNING received, its answer held', () => smtp.mails.length === 1, 60_000);
    const first = vigil;
    first.process.child.kill('SIGKILL');
    expect((await first.process.exited).signal).toBe('SIGKILL');

    vigil = await startVigilProcess({ config: CONFIG, env, home: first.home });
    await waitFor('the resend after the restart', () => smtp.mails.length === 2, 60_000);
    const delivered = await waitFor('the notification recorded as delivered', async () => {
      const { body } = await vigil!.api<{ deliveries: Array<{ receiver: string; event: string; status: string; attempts: number }> }>('GET', '/admin/api/v1/incidents/1');
      return body.deliveries.every((delivery) => delivery.status === 'delivered') && body.deliveries;
    }, 30_000);
    expect(delivered.map((delivery) => `${delivery.receiver}:${delivery.event}:${delivery.status}`)).toEqual(['ops:warning:delivered']);
    // Two copies at most, one Message-ID: the mail client shows one message.
    expect(smtp.mails).toHaveLength(2);
    const [held, resent] = smtp.mails;
    expect(held!.messageId).toMatch(/^<1\.ops\.warning\.[0-9a-f-]{36}@vigil\.alerts>$/);
    expect(resent!.messageId).toBe(held!.messageId);
    expect(resent!.subject).toBe(held!.subject);
    expect(held!.subject).toMatch(/^\[CRITICAL\] FIRING api: api down/);
  }, 240_000);
});
