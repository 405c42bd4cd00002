import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { Scope } from '../../core/http/auth.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { runVigil } from '../support/cli.ts';
import { processingTestConfig, startProcessing, TEST_KEY } from './support.ts';

const ADMIN_TOKEN = 'admin-token-for-the-keys-test';

interface CreatedKey {
  id: string;
  name: string;
  scopes: Scope[];
  state: string;
  key: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

async function call(base: string, method: string, url: string, options: { key?: string; authorization?: string; json?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.authorization) headers.authorization = options.authorization;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${url}`, { method, headers, ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

type Route = { method: string; url: string; scope: Scope; answer: number; json?: unknown };

/** Fastify serves every GET route as HEAD too: the same scope, the same answer. */
const withHeads = (routes: Route[]): Route[] => routes.flatMap((route) => (route.method === 'GET' ? [route, { ...route, method: 'HEAD' }] : [route]));

// Every route of the processing API on the internal listener, with the scope it needs and its answer to a key
// that holds that scope (as before keys: 404 for an unknown id, 415 for an upload that is not multipart, ...).
const ROUTES = withHeads([
  { method: 'POST', url: '/api/v1/videos', scope: 'upload', answer: 415 },
  { method: 'POST', url: '/api/v1/uploads', scope: 'upload', answer: 201, json: {} },
  { method: 'GET', url: '/api/v1/videos', scope: 'read', answer: 200 },
  { method: 'GET', url: '/api/v1/videos/unknown', scope: 'read', answer: 404 },
  { method: 'GET', url: '/api/v1/videos/unknown/outputs/720p.mp4', scope: 'read', answer: 404 },
  { method: 'DELETE', url: '/api/v1/videos/unknown', scope: 'delete', answer: 404 },
  { method: 'GET', url: '/admin/api/v1/keys', scope: 'admin', answer: 200 },
  { method: 'POST', url: '/admin/api/v1/keys', scope: 'admin', answer: 400, json: {} },
  { method: 'DELETE', url: '/admin/api/v1/keys/unknown', scope: 'admin', answer: 404 },
  { method: 'GET', url: '/admin/api/v1/videos/unknown', scope: 'admin', answer: 404 },
  { method: 'POST', url: '/admin/api/v1/videos/unknown/retry', scope: 'admin', answer: 404 },
]);

/** "METHOD /path" of every route the server has, from Fastify's own route table. */
function routesOf(vigil: Vigil): string[] {
  const lines = vigil.http.printRoutes({ commonPrefix: false }).split('\n');
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of lines) {
    const match = /^([│ ]*)(?:├──|└──) (\S*) \(([A-Z, ]+)\)$/.exec(line) ?? /^([│ ]*)(?:├──|└──) (\S*)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    if (match[3]) for (const method of match[3].split(', ')) routes.push(`${method} ${stack.join('')}`);
  }
  return routes;
}

describeEachBackend('processing API keys and scopes', (backend) => {
  let store: TestStore;
  let vigil: Vigil;
  const clock = new FakeClock(Date.now());
  const keys: Partial<Record<Scope, CreatedKey>> = {};

  beforeAll(async () => {
    store = await backend.createStore();
    const config = processingTestConfig(store, { keys: [], apiLimits: { perKey: 1000, perAddress: 1000, bytesPerDay: '1MB', concurrentUploads: 1 } }, { server: { adminToken: ADMIN_TOKEN } });
    vigil = await startProcessing(config, { roles: ['api'], clock });
    for (const scope of ['upload', 'read', 'delete', 'admin'] as const) {
      const created = await call(vigil.url, 'POST', '/admin/api/v1/keys', { key: ADMIN_TOKEN, json: { name: `${scope}-only`, scopes: [scope] } });
      expect(created.status).toBe(201);
      keys[scope] = created.body as unknown as CreatedKey;
    }
  });
  afterAll(async () => {
    await vigil?.stop();
    await store?.cleanup();
  });

  // The operator's read API declares no scope of its own: core checks the admin tokens for it, and keys never open it.
  const ADMIN_TOKEN_ONLY = ['/admin/api/v1/openapi.json', '/admin/api/v1/queues', '/admin/api/v1/videos', '/admin/api/v1/videos/:id/workflow', '/admin/api/v1/processing/gc', '/admin/api/v1/processing/report', '/admin/api/v1/videos/:id/events'];

  it('the table covers every route the processing module serves', () => {
    const served = routesOf(vigil)
      .filter((route) => /^[A-Z]+ \/(api|admin)\//.test(route) && !route.startsWith('OPTIONS'))
      .filter((route) => !ADMIN_TOKEN_ONLY.includes(route.split(' ')[1]!));
    const covered = ROUTES.map((route) => `${route.method} ${route.url.replace('/unknown/outputs/720p.mp4', '/:id/outputs/:name').replace('/unknown/retry', '/:id/retry').replace(/\/unknown$/, '/:id')}`);
    expect(new Set(served)).toEqual(new Set(covered));
  });

  it.each(ADMIN_TOKEN_ONLY.filter((url) => !url.includes(':') && !url.endsWith('/gc')))('GET %s: only the admin tokens open it, not even a key with the "admin" scope', async (url) => {
    expect((await call(vigil.url, 'GET', url, {})).status).toBe(401);
    expect((await call(vigil.url, 'GET', url, { key: keys.admin!.key })).status).toBe(401);
    expect((await call(vigil.url, 'GET', url, { key: ADMIN_TOKEN })).status).toBe(200);
  });

  it.each(ROUTES)('$method $url: 401 without a key, 403 with another scope, $answer with "$scope"', async (route) => {
    const anonymous = await call(vigil.url, route.method, route.url, { json: route.json });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    if (route.method !== 'HEAD') expect(anonymous.body).toMatchObject({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining(`"${route.scope}" scope`) } });
    const other = (['upload', 'read', 'delete', 'admin'] as const).find((scope) => scope !== route.scope)!;
    const wrongScope = await call(vigil.url, route.method, route.url, { key: keys[other]!.key, json: route.json });
    expect(wrongScope.status).toBe(403);
    if (route.method !== 'HEAD') expect(wrongScope.body).toMatchObject({ error: { code: 'FORBIDDEN', message: `The key "${other}-only" lacks the "${route.scope}" scope this route needs.` } });
    expect((await call(vigil.url, route.method, route.url, { key: keys[route.scope]!.key, json: route.json })).status).toBe(route.answer);
    // The admin token is a key with every scope.
    expect((await call(vigil.url, route.method, route.url, { key: ADMIN_TOKEN, json: route.json })).status).toBe(route.answer);
  });

  it('reads the bearer scheme in any case and refuses a wrong or malformed key', async () => {
    const read = keys.read!.key;
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { authorization: `bearer ${read}` })).status).toBe(200);
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { authorization: `BEARER ${read}` })).status).toBe(200);
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { authorization: `Basic ${read}` })).status).toBe(401);
    const tampered = `${read.slice(0, -1)}${read.endsWith('A') ? 'B' : 'A'}`;
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { key: tampered })).body).toMatchObject({ error: { message: 'The API key is unknown, revoked or expired.' } });
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { key: 'vk_nothing' })).status).toBe(401);
  });

  it('shows a key once, stores only its hash, records its last use, and refuses it once revoked or expired', async () => {
    const listed = await call(vigil.url, 'GET', '/admin/api/v1/keys', { key: keys.admin!.key });
    expect(listed.text).not.toContain(keys.read!.key);
    const stored = JSON.stringify(await vigil.db.query('select * from processing_api_keys'));
    // The secret is what follows vk_<id>_; it may itself hold underscores (base64url).
    for (const key of Object.values(keys)) expect(stored).not.toContain(key.key.slice(`vk_${key.id}_`.length));
    const readKey = (listed.body.keys as CreatedKey[]).find((key) => key.id === keys.read!.id)!;
    expect(readKey).toMatchObject({ name: 'read-only', scopes: ['read'], state: 'active', expiresAt: null });
    expect(readKey.lastUsedAt).not.toBeNull();
    expect(readKey).not.toHaveProperty('key');

    const expiring = (await call(vigil.url, 'POST', '/admin/api/v1/keys', { key: ADMIN_TOKEN, json: { name: 'short-lived', scopes: ['read'], expires: '1h' } })).body as unknown as CreatedKey;
    expect(Date.parse(expiring.expiresAt!) - clock.now()).toBe(3_600_000);
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { key: expiring.key })).status).toBe(200);
    await clock.advance(3_600_000);
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { key: expiring.key })).status).toBe(401);

    const revocable = (await call(vigil.url, 'POST', '/admin/api/v1/keys', { key: ADMIN_TOKEN, json: { name: 'revocable', scopes: ['read'] } })).body as unknown as CreatedKey;
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { key: revocable.key })).status).toBe(200);
    expect((await call(vigil.url, 'DELETE', `/admin/api/v1/keys/${revocable.id}`, { key: keys.admin!.key })).body).toMatchObject({ state: 'revoked' });
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { key: revocable.key })).status).toBe(401);
    const states = Object.fromEntries(((await call(vigil.url, 'GET', '/admin/api/v1/keys', { key: ADMIN_TOKEN })).body.keys as CreatedKey[]).map((key) => [key.name, key.state]));
    expect(states).toMatchObject({ 'short-lived': 'expired', revocable: 'revoked', 'read-only': 'active' });

    const bad = await call(vigil.url, 'POST', '/admin/api/v1/keys', { key: ADMIN_TOKEN, json: { name: 'x', scopes: ['write'], expires: 'soon' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { message: expect.stringContaining('scopes') } });
  });

  it('answers 429 with Retry-After over the upload quota of a key', async () => {
    const upload = keys.upload!.key;
    // 1 MB a day: an upload declaring 2 MB is refused before its body is read.
    const response = await fetch(`${vigil.url}/api/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${upload}`, 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(2 * 1024 * 1024) },
      body: Buffer.alloc(2 * 1024 * 1024),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'QUOTA_EXCEEDED', message: expect.stringContaining('1048576 bytes a day') });
  });

  it.runIf(backend.name === 'PostgreSQL')('the CLI creates (showing the key once), lists and revokes keys through the running Vigil', async () => {
    const cli = (...args: string[]) => runVigil([...args, '--url', vigil.url], { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN });
    const created = await cli('keys', 'create', 'backend', '--scope', 'upload', '--scope', 'read', '--expires', '30d');
    expect(created.code).toBe(0);
    const key = /^(vk_[0-9a-f]{16}_\S+)$/m.exec(created.output)![1]!;
    expect(created.output).toContain('This is the only time the key is shown');
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { key })).status).toBe(200);
    const id = key.split('_')[1]!;
    const listed = await cli('keys', 'list', '--json');
    expect(JSON.parse(listed.output)).toContainEqual(expect.objectContaining({ id, name: 'backend', scopes: ['upload', 'read'], state: 'active' }));
    expect(listed.output).not.toContain(key.slice(`vk_${id}_`.length));
    expect((await cli('keys', 'revoke', id)).output).toContain(`key ${id} (backend) revoked`);
    expect((await call(vigil.url, 'GET', '/api/v1/videos', { key })).status).toBe(401);
    const badScope = await cli('keys', 'create', 'x', '--scope', 'write');
    expect(badScope).toMatchObject({ code: 2, output: expect.stringContaining('scopes') });
    expect(await cli('keys', 'revoke', 'ffffffffffffffff')).toMatchObject({ code: 2, output: expect.stringContaining('No API key with id "ffffffffffffffff"') });
    const unauthorised = await runVigil(['keys', 'list', '--url', vigil.url], { VIGIL_ADMIN_TOKEN: 'not-the-token' });
    expect(unauthorised.code).toBe(2);
    // Six CLI processes, each loading the whole product.
  }, 300_000);
});

describe('rate limits', () => {
  it('answer 429 with Retry-After per key and, without one, per client address (from X-Forwarded-For only through a trusted proxy)', async () => {
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-limits-'));
    const store: TestStore = { dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => rmSync(tempDir, { recursive: true, force: true }) };
    const vigil = await startProcessing(processingTestConfig(store, { apiLimits: { perKey: 3, perAddress: 2 } }, { server: { trustProxy: ['127.0.0.1'] } }), { roles: ['api'] });
    try {
      const withKey = await Promise.all(Array.from({ length: 4 }, () => call(vigil.url, 'GET', '/api/v1/videos', { key: TEST_KEY })));
      expect(withKey.map((answer) => answer.status).sort()).toEqual([200, 200, 200, 429]);
      const limited = withKey.find((answer) => answer.status === 429)!;
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.body).toMatchObject({ error: { code: 'RATE_LIMITED', message: expect.stringContaining('3 a minute') } });
      const anonymous = await Promise.all(Array.from({ length: 3 }, () => call(vigil.url, 'GET', '/status/videos/not-a-token')));
      expect(anonymous.map((answer) => answer.status).sort()).toEqual([404, 404, 429]);
      // Behind the trusted proxy (127.0.0.1 here), each client named by X-Forwarded-For has a budget of its own.
      const viaProxy = (client: string) => fetch(`${vigil.url}/status/videos/not-a-token`, { headers: { 'x-forwarded-for': `${client}, 127.0.0.1` } }).then((answer) => answer.status);
      expect([await viaProxy('203.0.113.7'), await viaProxy('203.0.113.7'), await viaProxy('203.0.113.7')]).toEqual([404, 404, 429]);
      expect(await viaProxy('203.0.113.8')).toBe(404);
    } finally {
      await vigil.stop();
      await store.cleanup();
    }
  });
});
