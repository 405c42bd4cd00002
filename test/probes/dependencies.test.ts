import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../app/config.ts';
import { amqp, postgres, redis, slack, smtp } from '../../app/index.ts';
import { environment, run } from './support.ts';

const POSTGRES = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PASSWORD = 'pw-that-must-not-leak-7731';
let smtpServer: SMTPServer;
let smtpPort: number;
let slackDouble: Server;
let slackUrl: string;
const slackCalls: string[] = [];

beforeAll(async () => {
  smtpServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onAuth(auth, _session, callback) {
      if (auth.username === 'probe' && auth.password === 'right-password') return callback(null, { user: 'probe' });
      callback(new Error('Invalid username or password'));
    },
  });
  await new Promise<void>((resolve) => smtpServer.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtpServer.server.address() as net.AddressInfo).port;
  slackDouble = createServer((request, response) => {
    slackCalls.push(`${request.method} ${request.url}`);
    const ok = request.headers.authorization === 'Bearer xoxb-good-token';
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { ok: true, team: 'Vigil', user: 'vigil-bot' } : { ok: false, error: 'invalid_auth' }));
  });
  await new Promise<void>((resolve) => slackDouble.listen(0, '127.0.0.1', resolve));
  slackUrl = `http://127.0.0.1:${(slackDouble.address() as net.AddressInfo).port}/api/`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => smtpServer.close(() => resolve()));
  await new Promise((resolve) => slackDouble.close(resolve));
});

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}

describe('dependency probes', () => {
  it('postgres: connects and queries; a missing database fails without showing the password', async () => {
    const ok = await run(postgres({ name: 'pg', url: POSTGRES, query: 'select 1 as one' }));
    expect(ok.result).toMatchObject({ success: true, details: { rows: 1 } });
    expect(Object.keys(ok.result.timings!)).toEqual(['connect', 'query']);
    const missing = new URL(withPassword(POSTGRES, PASSWORD));
    missing.pathname = '/vigil_no_such_database';
    const bad = await run(postgres({ name: 'pg-missing', url: missing.toString() }));
    expect(bad.result.success).toBe(false);
    expect(bad.result.reason).toMatch(/vigil_no_such_database/);
    expect(JSON.stringify(bad.result)).not.toContain(PASSWORD);
    const empty = await run(postgres({ name: 'pg-empty', url: POSTGRES, query: 'select 1 where false' }));
    expect(empty.result.reason).toBe('the query returned 0 row(s), expected at least 1');
  });

  it('redis: PING and a round-trip key; a closed port fails', async () => {
    const ok = await run(redis({ name: 'redis', url: 'redis://127.0.0.1:6379' }));
    expect(ok.result.success).toBe(true);
    expect(Object.keys(ok.result.timings!)).toEqual(['connect', 'ping', 'roundTrip']);
    const closed = await run(redis({ name: 'redis-closed', url: `redis://:${PASSWORD}@127.0.0.1:1` }));
    expect(closed.result.success).toBe(false);
    expect(closed.result.reason).toMatch(/ECONNREFUSED|connect/i);
    expect(JSON.stringify(closed.result)).not.toContain(PASSWORD);
  });

  it('amqp: declares a temporary queue, publishes and gets; a wrong password is refused and not shown', async () => {
    const ok = await run(amqp({ name: 'amqp', url: 'amqp://guest:guest@127.0.0.1:5672' }));
    expect(ok.result.success).toBe(true);
    expect(Object.keys(ok.result.timings!)).toEqual(['connect', 'declare', 'publishGet']);
    const refused = await run(amqp({ name: 'amqp-bad', url: `amqp://guest:${PASSWORD}@127.0.0.1:5672` }));
    expect(refused.result.success).toBe(false);
    expect(refused.result.reason).toMatch(/ACCESS_REFUSED|403|auth/i);
    expect(JSON.stringify(refused.result)).not.toContain(PASSWORD);
  });

  it('smtp: EHLO and AUTH against a real SMTP server; wrong credentials fail without the password', async () => {
    const plain = await run(smtp({ name: 'smtp', url: `smtp://127.0.0.1:${smtpPort}` }));
    expect(plain.result).toMatchObject({ success: true, details: { authenticated: false } });
    const authed = await run(smtp({ name: 'smtp-auth', url: `smtp://probe:right-password@127.0.0.1:${smtpPort}` }));
    expect(authed.result).toMatchObject({ success: true, details: { authenticated: true } });
    const wrong = await run(smtp({ name: 'smtp-wrong', url: `smtp://probe:${PASSWORD}@127.0.0.1:${smtpPort}` }));
    expect(wrong.result.success).toBe(false);
    expect(wrong.result.reason).toMatch(/Invalid username or password/);
    expect(JSON.stringify(wrong.result)).not.toContain(PASSWORD);
  });

  it('slack: auth.test against SLACK_API_URL with the configured token; a bad token fails without showing it', async () => {
    const config = parseConfig({ slack: { token: 'xoxb-good-token', apiUrl: slackUrl }, logging: { level: 'silent' } });
    const ok = await run(slack({ name: 'slack' }), environment({ config }));
    expect(ok.result).toMatchObject({ success: true, details: { team: 'Vigil', user: 'vigil-bot' } });
    expect(slackCalls).toContain('POST /api/auth.test');
    const bad = await run(slack({ name: 'slack-bad', token: 'xoxb-bad-token-never-shown', apiUrl: slackUrl }), environment({ config }));
    expect(bad.result.success).toBe(false);
    expect(bad.result.reason).toMatch(/invalid_auth/);
    expect(JSON.stringify(bad.result)).not.toContain('xoxb-bad-token-never-shown');
  });
});
