import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vigil } from '../../core/lifecycle/start.ts';
import type { TestStore } from '../support/backends.ts';
import { launchChromium } from '../support/browser.ts';
import { testClips } from '../support/clips.ts';
import { waitFor } from '../support/wait.ts';
import { processingTestConfig, startProcessing, startSmtp, TEST_KEY } from './support.ts';

// A key for the platform's backend: everything but admin, so its answers are what a non-administrator sees.
const BACKEND_KEY = 'backend-key-upload-read-delete';
const backend = { authorization: `Bearer ${BACKEND_KEY}` };

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

interface DirectUploadAnswer {
  id: string;
  uploadUrl: string;
  tusUrl: string;
  statusUrl: string;
  maxBytes: number;
  expiresAt: string;
}

interface PublicStatus {
  state: string;
  error: { class: string; message: string } | null;
  outputs: Array<{ name: string; url: string; bytes: number }>;
}

/** A page server on its own origin: the platform's site, from which a browser sends a file to a direct upload URL. */
async function startPlatformPage(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html lang="en"><title>Upload</title><label>Video <input type="file" id="file"></label></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const { clip } = testClips({ clip: { seconds: 2, width: 320, height: 240 } });

describe('direct uploads for end users, with a public listener of their own', () => {
  let store: TestStore;
  let vigil: Vigil;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let page: Awaited<ReturnType<typeof startPlatformPage>>;
  // Every answer and email the uploads below produce, for the scan for paths at the end.
  const seen: string[] = [];

  async function fetchSeen(url: string, init: RequestInit = {}): Promise<Answer> {
    const response = await fetch(url, init);
    const text = await response.text();
    seen.push(`${init.method ?? 'GET'} ${url} → ${response.status} ${JSON.stringify([...response.headers])} ${text}`);
    // tus answers its errors as text/plain, with the same JSON body as the other upload routes.
    const json = response.headers.get('content-type')?.includes('json') || (response.headers.has('tus-resumable') && text.startsWith('{'));
    return { status: response.status, headers: response.headers, body: text && json ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async function createDirectUpload(body: Record<string, unknown> = {}): Promise<DirectUploadAnswer> {
    const answer = await fetchSeen(`${vigil.url}/api/v1/uploads`, { method: 'POST', headers: { ...backend, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(answer.status).toBe(201);
    return answer.body as unknown as DirectUploadAnswer;
  }

  async function postFile(url: string, bytes: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)]), 'holiday.mp4');
    return fetchSeen(url, { method: 'POST', body: form, headers });
  }

  async function publicStatus(url: string, states: string[]): Promise<PublicStatus> {
    return waitFor(`${url} to reach ${states.join('|')}`, async () => {
      const answer = await fetchSeen(url);
      return states.includes((answer.body as unknown as PublicStatus).state) ? (answer.body as unknown as PublicStatus) : undefined;
    }, 60_000, 200);
  }

  const incoming = () => {
    const dir = path.join(store.tempDir, 'storage', 'incoming');
    return existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((entry) => !statSync(path.join(dir, String(entry))).isDirectory()) : [];
  };

  beforeAll(async () => {
    smtp = await startSmtp();
    page = await startPlatformPage();
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-direct-'));
    store = { dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => rmSync(tempDir, { recursive: true, force: true }) };
    const config = processingTestConfig(
      store,
      {
        keys: [
          { name: 'test', scopes: ['upload', 'read', 'delete', 'admin'], key: TEST_KEY },
          { name: 'backend', scopes: ['upload', 'read', 'delete'], key: BACKEND_KEY },
        ],
        renditions: [{ name: '240p', height: 240 }],
        uploads: { allowedOrigins: [page.origin] },
        // The test polls public status links often from one address.
        apiLimits: { perKey: 1_000_000, perAddress: 1_000_000 },
      },
      { smtp: { url: smtp.url }, server: { public: { port: 0 } } },
    );
    vigil = await startProcessing(config);
  });
  afterAll(async () => {
    await vigil?.stop();
    await smtp?.close();
    await page?.close();
    await store?.cleanup();
  });

  it('serves the processing API and /metrics on the internal listener only, the upload URLs and status on the public one only', async () => {
    expect(vigil.publicUrl).not.toBe(vigil.url);
    const created = await createDirectUpload();
    expect(created.uploadUrl.startsWith(`${vigil.publicUrl}/uploads/`)).toBe(true);
    expect(created.statusUrl.startsWith(`${vigil.publicUrl}/status/videos/`)).toBe(true);
    expect((await fetch(`${vigil.publicUrl}/api/v1/videos`, { headers: backend })).status).toBe(404);
    expect((await fetch(`${vigil.publicUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${vigil.publicUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${vigil.url}/metrics`)).status).toBe(200);
    expect((await fetch(created.uploadUrl.replace(vigil.publicUrl, vigil.url), { method: 'POST' })).status).toBe(404);
    expect((await fetch(created.statusUrl)).status).toBe(200);
  });

  it('a direct upload URL takes one file with the limits it was made with, then answers 410', async () => {
    const created = await createDirectUpload({ labels: 'source=web', email: 'viewer@example.com', expiresIn: '10m' });
    expect(Date.parse(created.expiresAt)).toBeGreaterThan(Date.now() + 9 * 60_000);
    const first = await postFile(created.uploadUrl, readFileSync(clip));
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: created.id, status: 'queued', statusUrl: created.statusUrl });
    const again = await postFile(created.uploadUrl, readFileSync(clip));
    expect(again.status).toBe(410);
    expect(again.body).toMatchObject({ error: { code: 'UPLOAD_URL_USED', message: 'This upload link was already used; ask for a new one.' } });

    const status = await publicStatus(created.statusUrl, ['published', 'failed']);
    expect(status.state).toBe('published');
    const rendition = status.outputs.find((output) => output.name === '240p.mp4')!;
    const media = await fetch(rendition.url);
    expect(media.status).toBe(200);
    expect((await media.arrayBuffer()).byteLength).toBe(rendition.bytes);
    // A signed link is bound to its video and name.
    expect((await fetch(rendition.url.replace('240p.mp4', 'thumbnail.jpg'))).status).toBe(403);

    const video = await fetchSeen(`${vigil.url}/api/v1/videos/${created.id}`, { headers: backend });
    expect(video.body).toMatchObject({ labels: { source: 'web' }, originalName: 'holiday.mp4', state: 'published' });
    for (const checkpoint of video.body.checkpoints as Array<Record<string, unknown>>) {
      expect(checkpoint).not.toHaveProperty('workerId');
      expect(checkpoint).not.toHaveProperty('message');
    }
    const asAdmin = await fetch(`${vigil.url}/admin/api/v1/videos/${created.id}`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
    expect(((await asAdmin.json()) as { checkpoints: Array<{ workerId: string }> }).checkpoints[0]!.workerId).toMatch(/\S/);

    await waitFor('the "ready" email', () => smtp.messages.find((mail) => mail.subject?.includes('is ready') && mail.text?.includes(created.id)));
    expect(smtp.messages.find((mail) => mail.text?.includes(created.id))!.text).toContain(created.statusUrl);
  });

  it('an expired URL answers 410 and keeps nothing', async () => {
    const created = await createDirectUpload();
    await vigil.db.query(`update processing_direct_uploads set expires_at = now() - interval '1 second' where id = $1`, [created.id]);
    const answer = await postFile(created.uploadUrl, readFileSync(clip));
    expect(answer.status).toBe(410);
    expect(answer.body).toMatchObject({ error: { code: 'UPLOAD_URL_EXPIRED', message: expect.stringMatching(/^This upload link expired at .+; ask for a new one\.$/) } });
    expect(incoming()).toEqual([]);
    expect(await vigil.db.query('select id from processing_videos where id = $1', [created.id])).toEqual([]);
  });

  it('an upload over the URL\'s size answers 413 before its body is sent, and one without a declared size 413 with nothing kept', async () => {
    const created = await createDirectUpload({ maxBytes: 100_000 });
    const url = new URL(created.uploadUrl);
    // Headers only: a 413 that waited for the body would never come.
    const early = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(url, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(500 * 1024 * 1024) } }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body }));
      });
      request.on('error', reject);
      request.flushHeaders();
    });
    expect(early.status).toBe(413);
    expect(JSON.parse(early.body)).toMatchObject({ error: { code: 'UPLOAD_TOO_LARGE', message: 'The file is larger than this upload link allows (100000 bytes).' } });

    // Chunked, so the size shows only while it streams.
    const big = Buffer.alloc(300_000, 1);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(big)]), 'big.mp4');
    const body = new Response(form);
    const streamed = await fetchSeen(created.uploadUrl, { method: 'POST', body: body.body, headers: { 'content-type': body.headers.get('content-type')! }, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(incoming()).toEqual([]);
    // A refused file does not use the link up.
    expect((await postFile(created.uploadUrl, readFileSync(clip))).status).toBe(201);

    // Files larger than the server's body limit for ordinary requests (1 MB) go through, plain and resumable.
    const large = Buffer.alloc(3 * 1024 * 1024, 7);
    expect((await postFile((await createDirectUpload()).uploadUrl, large)).status).toBe(201);
    const resumable = await createDirectUpload();
    const tus = { 'tus-resumable': '1.0.0' };
    expect((await fetchSeen(resumable.tusUrl, { method: 'POST', headers: tus })).status).toBe(400);
    const location = (await fetchSeen(resumable.tusUrl, { method: 'POST', headers: { ...tus, 'upload-length': String(large.length) } })).headers.get('location')!;
    const patch = await fetchSeen(location, { method: 'PATCH', headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(large) });
    expect(patch.status).toBe(204);
  });

  it('a tus upload cut at half resumes where it stopped and publishes one video with the file\'s checksum', async () => {
    const bytes = readFileSync(clip);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const created = await createDirectUpload({ email: 'tus@example.com' });
    const tus = { 'tus-resumable': '1.0.0' };
    const creation = await fetchSeen(created.tusUrl, {
      method: 'POST',
      headers: { ...tus, 'upload-length': String(bytes.length), 'upload-metadata': `filename ${Buffer.from('resumed.mp4').toString('base64')}` },
    });
    expect(creation.status).toBe(201);
    const location = creation.headers.get('location')!;
    expect(location).toBe(`${created.tusUrl}/${created.id}`);

    // The first PATCH sends half the file and loses its connection.
    const half = Math.floor(bytes.length / 2);
    const partial = path.join(store.tempDir, 'storage', 'incoming', 'tus', created.id);
    const cut = http.request(new URL(location), { method: 'PATCH', headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(bytes.length) } });
    cut.on('error', () => {});
    cut.write(bytes.subarray(0, half));
    await waitFor('half the file on disk', () => existsSync(partial) && statSync(partial).size === half);
    cut.destroy();
    const received = statSync(partial).ino;

    const offset = await waitFor('the server to note the offset', async () => {
      const head = await fetchSeen(location, { method: 'HEAD', headers: tus });
      return head.status === 200 && Number(head.headers.get('upload-offset')) === half ? half : undefined;
    });
    const rest = await fetchSeen(location, {
      method: 'PATCH',
      headers: { ...tus, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
      body: new Uint8Array(bytes.subarray(offset)),
    });
    expect(rest.status).toBe(204);
    expect(rest.headers.get('vigil-video-id')).toBe(created.id);

    const status = await publicStatus(created.statusUrl, ['published', 'failed']);
    expect(status.state).toBe('published');
    expect(await vigil.db.query('select sha256, original_name as "originalName" from processing_videos where id = $1', [created.id])).toEqual([{ sha256, originalName: 'resumed.mp4' }]);
    expect(existsSync(partial)).toBe(false);
    // The received file became the original where it lay (the same inode, never copied), under that one name; nothing
    // of the upload is left in incoming/.
    const original = statSync(path.join(store.tempDir, 'storage', 'originals', sha256.slice(0, 2), sha256));
    expect([original.ino, original.nlink]).toEqual([received, 1]);
    expect(readdirSync(path.dirname(partial))).toEqual([]);
    expect(readdirSync(path.dirname(path.dirname(partial))).filter((name) => name !== 'tus')).toEqual([]);
    expect((await fetchSeen(location, { method: 'HEAD', headers: tus })).status).toBe(410);
    expect((await fetchSeen(created.tusUrl, { method: 'POST', headers: { ...tus, 'upload-length': '10' } })).status).toBe(410);
  });

  it('a tus upload while the storage directory is unusable answers 503 RESOURCE with Retry-After and a sentence, creating and finishing alike, and works again once it is back', async () => {
    const bytes = readFileSync(clip);
    const tus = { 'tus-resumable': '1.0.0' };
    const incomingDir = path.join(store.tempDir, 'storage', 'incoming');
    const created = await createDirectUpload();
    // A file where the incoming directory was: every write under it fails with ENOTDIR, as on a storage that went away.
    const aside = `${incomingDir}-aside`;
    mkdirSync(incomingDir, { recursive: true });
    renameSync(incomingDir, aside);
    writeFileSync(incomingDir, 'not a directory');
    try {
      const creation = await fetchSeen(created.tusUrl, { method: 'POST', headers: { ...tus, 'upload-length': String(bytes.length), 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(bytes) });
      expect(creation.status).toBe(503);
      expect(creation.headers.get('retry-after')).toBe('30');
      expect(creation.body).toEqual({ error: { code: 'RESOURCE', message: expect.stringMatching(/^Your video was not saved because our storage is not accepting uploads right now\..*upload it again in 30 seconds\.$/) } });
    } finally {
      rmSync(incomingDir);
      renameSync(aside, incomingDir);
    }
    const retried = await fetchSeen(created.tusUrl, { method: 'POST', headers: { ...tus, 'upload-length': String(bytes.length), 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(bytes) });
    expect(retried.status).toBe(201);
    expect((await publicStatus(created.statusUrl, ['published', 'failed'])).state).toBe('published');

    // The last bytes arrive while the store for originals is unusable: the finishing PATCH answers 503 and keeps the link.
    const second = await createDirectUpload();
    const begun = await fetchSeen(second.tusUrl, { method: 'POST', headers: { ...tus, 'upload-length': String(bytes.length) } });
    expect(begun.status).toBe(201);
    const originals = path.join(store.tempDir, 'storage', 'originals');
    renameSync(originals, `${originals}-aside`);
    writeFileSync(originals, 'not a directory');
    try {
      const finish = await fetchSeen(begun.headers.get('location')!, { method: 'PATCH', headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(bytes) });
      expect(finish.status).toBe(503);
      expect(finish.headers.get('retry-after')).toBe('30');
      expect(finish.body).toEqual({ error: { code: 'RESOURCE', message: expect.stringMatching(/^Your video was not saved/) } });
    } finally {
      rmSync(originals);
      renameSync(`${originals}-aside`, originals);
    }
  });

  it('answers CORS preflights only for the allowed origins, and a browser on the platform\'s page uploads through a direct upload URL', async () => {
    const created = await createDirectUpload({ allowedOrigin: page.origin, email: 'browser@example.com' });
    const preflight = (origin: string, url: string) =>
      fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'upload-length,tus-resumable' } });
    for (const url of [created.uploadUrl, created.tusUrl]) {
      const allowed = await preflight(page.origin, url);
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(page.origin);
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Upload-Length/);
      const refused = await preflight('http://evil.example', url);
      expect(refused.status).toBe(404);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    }
    expect((await postFile(created.uploadUrl, readFileSync(clip), { origin: 'http://evil.example' })).status).toBe(403);

    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      await tab.goto(page.origin);
      await tab.setInputFiles('#file', clip);
      const result = await tab.evaluate(async (url) => {
        // Runs in the page: its document is the browser's (this file is checked without the DOM library).
        const { document } = globalThis as unknown as { document: { querySelector(selector: string): { files: Blob[] } } };
        const form = new FormData();
        form.append('file', document.querySelector('#file').files[0]!);
        const response = await fetch(url, { method: 'POST', body: form });
        return { status: response.status, body: (await response.json()) as { id: string; statusUrl: string } };
      }, created.uploadUrl);
      seen.push(JSON.stringify(result));
      expect(result).toEqual({ status: 201, body: { id: created.id, status: 'queued', statusUrl: created.statusUrl } });
    } finally {
      await browser.close();
    }
    expect((await publicStatus(created.statusUrl, ['published', 'failed'])).state).toBe('published');
  });

  it('a file that is not a video fails with a plain reason for its uploader, and no answer or email names a path', async () => {
    const created = await createDirectUpload({ email: 'junk@example.com' });
    expect((await postFile(created.uploadUrl, Buffer.from('this is not a video at all'))).status).toBe(201);
    const status = await publicStatus(created.statusUrl, ['failed', 'published']);
    expect(status.error).toMatchObject({ class: 'INPUT_INVALID', message: expect.stringMatching(/^[A-Z].+\.$/) });
    await fetchSeen(`${vigil.url}/api/v1/videos/${created.id}`, { headers: backend });
    await fetchSeen(`${vigil.url}/api/v1/videos?limit=500`, { headers: backend });
    const api = await fetchSeen(`${vigil.url}/api/v1/videos`, { method: 'POST', body: (() => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(readFileSync(clip))]), 'backend.mp4');
      return form;
    })(), headers: backend });
    expect(api.status).toBe(202);
    await waitFor('the "could not be processed" email', () => smtp.messages.find((mail) => mail.text?.includes(created.id) && mail.subject?.includes('could not be processed')));

    const everything = [...seen, ...smtp.messages.map((mail) => JSON.stringify({ subject: mail.subject, text: mail.text, html: mail.html }))].join('\n');
    expect(everything.length).toBeGreaterThan(10_000);
    for (const root of [store.tempDir, path.join(store.tempDir, 'storage'), store.dataDir, path.dirname(clip), os.tmpdir()]) expect(everything).not.toContain(root);
    expect(everything).not.toMatch(/"path":/);
  });
});
