import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { alertsModule } from '../../alerts/index.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { createLogger } from '../../core/telemetry/logger.ts';
import { processingModule } from '../../processing/index.ts';
import { parseConfig } from '../../app/config.ts';
import { TEST_KEY, upload } from '../processing/support.ts';
import { createPostgresDatabase } from '../support/backends.ts';
import { proxyPostgres, type TcpProxy } from '../support/tcp-proxy.ts';
import { waitFor } from '../support/wait.ts';

const postgresUnavailable = inject('postgresUnavailable');

// PostgreSQL reached through a proxy the test cuts: the server itself keeps running, Vigil just cannot reach it.
describe.skipIf(Boolean(postgresUnavailable))(`a PostgreSQL outage seen from the HTTP API${postgresUnavailable ? ` [skipped: ${postgresUnavailable}]` : ''}`, () => {
  let vigil: Vigil;
  let proxy: TcpProxy;
  let drop: () => Promise<void>;
  let tempDir: string;
  const logLines: Array<Record<string, unknown>> = [];
  const adminToken = randomBytes(16).toString('hex');
  const admin = { authorization: `Bearer ${adminToken}` };

  beforeAll(async () => {
    const database = await createPostgresDatabase();
    drop = database.drop;
    let url: string;
    ({ proxy, url } = await proxyPostgres(database.url));
    tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-outage-'));
    const config = parseConfig(
      {
        server: { host: '127.0.0.1', port: 0, shutdownTimeout: '2s', adminToken },
        database: { url, dataDir: path.join(tempDir, 'data') },
        processing: { storageDir: path.join(tempDir, 'storage'), keys: [{ name: 'test', scopes: ['upload', 'read'], key: TEST_KEY }] },
      },
      'outage test',
    );
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    });
    vigil = await startVigil({ config, modules: [processingModule, alertsModule], roles: ['api'], logger: createLogger({ level: 'info', destination }) });
  });

  afterAll(async () => {
    await vigil?.stop(2000);
    await proxy?.close();
    await drop?.();
    rmSync(tempDir, { recursive: true, force: true });
  });

  it('answers uploads and admin reads 503 with Retry-After and a sentence while the store is away, and serves again when it returns', async () => {
    const before = await upload(vigil.url, randomBytes(64 * 1024));
    expect(before.status).toBe(202);

    await proxy.cut();
    const during = await upload(vigil.url, randomBytes(64 * 1024));
    expect(during.status).toBe(503);
    expect(during.body.error).toEqual({
      code: 'UNAVAILABLE',
      message: 'The service cannot reach its database at the moment, so this request was not carried out. Please try again in 10 seconds.',
    });
    const again = await fetch(`${vigil.url}/api/v1/videos`, { method: 'POST', body: uploadForm(), headers: admin });
    expect(again.headers.get('retry-after')).toBe('10');

    for (const [url, headers] of [
      [`${vigil.url}/api/v1/videos/${before.body.id}`, admin],
      [`${vigil.url}/api/v1/videos`, admin],
      [`${vigil.url}/admin/api/v1/incidents`, admin],
      [`${vigil.url}/admin/api/v1/silences`, admin],
    ] as const) {
      const response = await fetch(url, { headers });
      expect({ url, status: response.status, retryAfter: response.headers.get('retry-after') }).toEqual({ url, status: 503, retryAfter: '10' });
    }
    // The store being away is not a bug: no "unhandled error" with a stack for it, and the upload left no partial file.
    expect(logLines.filter((line) => line.msg === 'unhandled error')).toEqual([]);
    expect(logLines.filter((line) => line.msg === 'dependency unavailable').length).toBeGreaterThan(0);
    expect(readdirSync(path.join(tempDir, 'storage'), { recursive: true }).filter((name) => String(name).endsWith('.part'))).toEqual([]);
    // /readyz says why, /healthz stays up.
    const ready = await waitFor('readyz 503', async () => {
      const response = await fetch(`${vigil.url}/readyz`);
      return response.status === 503 ? ((await response.json()) as { reason: string }) : undefined;
    });
    expect(ready.reason).toMatch(/^database: /);
    expect((await fetch(`${vigil.url}/healthz`)).status).toBe(200);

    await proxy.restore();
    const after = await waitFor('uploads to be accepted again', async () => {
      const answer = await upload(vigil.url, randomBytes(64 * 1024));
      return answer.status === 202 ? answer : undefined;
    });
    expect(after.body.status).toBe('queued');
    expect((await fetch(`${vigil.url}/admin/api/v1/incidents`, { headers: admin })).status).toBe(200);
  });
});

function uploadForm(): FormData {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(randomBytes(1024))]), 'clip.mp4');
  return form;
}
