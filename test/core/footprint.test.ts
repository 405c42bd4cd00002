// What a `vigil start` with the example configuration loads: client libraries and SDKs of features it does not use stay
// on disk until first use. The process runs with test/support/footprint.ts preloaded, which lists every module resolved.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, spawnNode, type RunningProcess } from '../support/cli.ts';
import { postgresBackend } from '../support/backends.ts';
import { readFootprint } from '../support/footprint.ts';
import { SMTP_CLOSE_TIMEOUT } from '../support/network.ts';
import { waitFor } from '../support/wait.ts';

const FOOTPRINT = path.join(import.meta.dirname, '../support/footprint.ts');
// Each is loaded by the one feature that needs it: tracing export (the SDK's tracer with it), a browser probe, a Redis
// or AMQP queue probe, the first email, the first Slack message, a tus upload, a dashboard export, the first request of
// the admin API's OpenAPI document, the first request to a route with a request schema.
const LOADED_ON_FIRST_USE = [
  '@opentelemetry/sdk-node', 'playwright-core', 'ioredis', 'amqplib', 'nodemailer', '@slack/web-api', '@tus/server', '@grafana/grafana-foundation-sdk', '@fastify/swagger',
  '@opentelemetry/sdk-trace', '@fastify/ajv-compiler',
];

let running: { process: RunningProcess; home: string } | undefined;
/** Run after the process has stopped (a PostgreSQL database it used). */
let afterStop: (() => Promise<void>) | undefined;
afterEach(async () => {
  if (running) {
    running.process.child.kill('SIGTERM');
    await running.process.exited;
    rmSync(running.home, { recursive: true, force: true });
    running = undefined;
  }
  await afterStop?.();
  afterStop = undefined;
});

/** Starts `vigil start` with the example configuration and returns the packages it loaded from node_modules once it is
 * ready; `sawStart` tells that the preload saw Vigil's own code load (from its files, or the bundle `npm ci` builds,
 * which holds the packages every start needs and leaves out those above). */
async function packagesLoadedAtStart(env: NodeJS.ProcessEnv): Promise<{ packages: Set<string>; nodeDependencies: string[]; sawStart: boolean }> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'vigil-footprint-'));
  const dataDir = path.join(home, 'data');
  const file = path.join(home, 'footprint.json');
  const child = spawnNode('--import', [FOOTPRINT, CLI, 'start'], {
    VIGIL_DATA_DIR: dataDir, VIGIL_STORAGE_DIR: path.join(home, 'storage'), VIGIL_PORT: '0', VIGIL_FOOTPRINT_FILE: file, VIGIL_FOOTPRINT_INTERVAL_MS: '50',
    DATABASE_URL: '', SMTP_URL: '', SLACK_BOT_TOKEN: '', OTEL_TRACES_EXPORTER: '', OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', ...env,
  });
  running = { process: child, home };
  const url = await waitFor('vigil start to advertise itself', () => {
    if (child.child.exitCode !== null) throw new Error(`vigil start exited: ${child.output()}`);
    const record = JSON.parse(readFileSync(path.join(dataDir, 'vigil.instance.json'), 'utf8')) as { url: string; pid: number };
    return record.pid === child.child.pid ? record.url : undefined;
  }, 120_000);
  await waitFor('/readyz to answer 200', async () => (await fetch(`${url}/readyz`)).status === 200, 60_000);
  // A sample taken after readiness holds everything the start loaded.
  const readyAt = Date.now();
  const footprint = await waitFor('a footprint sample taken after readiness', () => {
    const sample = readFootprint(file);
    return sample && sample.at > readyAt ? sample : undefined;
  }, 10_000);
  return {
    packages: new Set(footprint.modules.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? [])),
    nodeDependencies: footprint.nodeDependencies,
    sawStart: footprint.modules.some((url) => /\/(app\/main\.ts|\.build\/main\.js)$/.test(url)),
  };
}

describe('modules loaded by a start with the example configuration', () => {
  it('loads the store and the server but no SDK or client library of a feature it does not use', async () => {
    const { packages, nodeDependencies, sawStart } = await packagesLoadedAtStart({});
    expect(sawStart).toBe(true);
    expect(packages).toContain('@electric-sql/pglite');
    expect(LOADED_ON_FIRST_USE.filter((name) => packages.has(name))).toEqual([]);
    // Node's own undici (behind the global fetch) would be a second copy of the HTTP client the probes use.
    expect(nodeDependencies.filter((name) => name.startsWith('undici/'))).toEqual([]);
  }, 180_000);

  it('does not load PGlite on PostgreSQL', async () => {
    const store = await postgresBackend.createStore();
    afterStop = store.cleanup;
    const { packages, sawStart } = await packagesLoadedAtStart({ DATABASE_URL: store.databaseUrl });
    expect(sawStart).toBe(true);
    expect(packages).not.toContain('@electric-sql/pglite');
  }, 180_000);

  it('loads the OpenTelemetry SDK when the environment asks for trace export', async () => {
    const { packages } = await packagesLoadedAtStart({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(packages).toContain('@opentelemetry/sdk-node');
  }, 180_000);
});

describe("Node's own undici", () => {
  // nodemailer's ES module build imports node:http as a namespace (which loads it), and the Slack client calls the
  // global fetch unless handed another: each would load that second copy of undici at a process's first email or
  // Slack message.
  it('stays unloaded by a first email and a first Slack call', async () => {
    const smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], logger: false, closeTimeout: SMTP_CLOSE_TIMEOUT, onData: (stream, _session, done) => stream.on('end', () => done()).resume() });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const slack = createServer((request, response) => {
      request.resume();
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ ok: request.url === '/api/auth.test', team: 'T', user: 'vigil' }));
    });
    await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
    try {
      const script = `
        const { createMailer } = await import(${JSON.stringify(path.join(REPO_ROOT, 'core/mail.ts'))});
        const { openSlackClient } = await import(${JSON.stringify(path.join(REPO_ROOT, 'core/slack.ts'))});
        const mailer = createMailer({ url: { reveal: () => process.env.SMTP }, from: 'Vigil <vigil@localhost>' });
        const sent = await mailer.send({ to: 'admin@example.com', subject: 'down', text: 'down' });
        mailer.close();
        const client = await openSlackClient('xoxb-test', { apiUrl: process.env.SLACK, timeout: 5000 });
        const answer = await client.auth.test();
        console.log(JSON.stringify({ sent: Boolean(sent.messageId), slack: answer.ok, undici: process.moduleLoadList.filter((name) => name.includes('undici')) }));
      `;
      const child = spawnNode('--input-type=module', ['-e', script], { SMTP: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`, SLACK: `http://127.0.0.1:${(slack.address() as AddressInfo).port}/api/` });
      const { code } = await child.exited;
      expect(code, child.output()).toBe(0);
      expect(JSON.parse(child.output().trim().split('\n').at(-1)!)).toEqual({ sent: true, slack: true, undici: [] });
    } finally {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      await new Promise((resolve) => slack.close(resolve));
    }
  }, 60_000);
});
