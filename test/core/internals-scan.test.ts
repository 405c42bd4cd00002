import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainLeaks } from '../support/internals.ts';

// The suite-wide scan (test/support/internals.ts) is what keeps every other test honest about paths; it must catch one.
describe('the scan of answers for paths of this machine', () => {
  let server: Server;
  let url: string;
  const storagePath = path.join(os.tmpdir(), 'vigil-scan-check', 'storage', 'derived', 'video.mp4');

  beforeAll(async () => {
    server = createServer((request, response) => {
      response.setHeader('content-type', request.url === '/video.mp4' ? 'video/mp4' : 'application/json');
      response.end(JSON.stringify({ output: storagePath }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    ['a public JSON answer naming a storage path', '/api/v1/videos/x', [`GET /api/v1/videos/x names ${path.join(os.tmpdir(), 'vigil-scan-check')}`]],
    ['the admin API, where admins get technical detail', '/admin/api/v1/videos/x', []],
    ['a media file', '/video.mp4', []],
  ])('%s', async (_case, route, expected) => {
    expect(await (await fetch(`${url}${route}`)).text()).toContain(storagePath);
    expect(await drainLeaks()).toEqual(expected);
  });
});
