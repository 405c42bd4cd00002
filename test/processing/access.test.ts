import { describe, expect, it } from 'vitest';
import { ADMIN_PRINCIPAL, authorize, bearerToken, requirementOf, sameSecret, type Principal, type Requirement, type Scope } from '../../core/http/auth.ts';
import { admitDirectUpload, type DirectUpload } from '../../processing/direct-uploads.ts';
import { keyState } from '../../processing/keys.ts';
import { quotaDecision } from '../../processing/limits.ts';
import { createSigner } from '../../processing/links.ts';

const principal = (...scopes: Scope[]): Principal => ({ keyId: 'k1', name: 'backend', scopes: new Set(scopes) });

describe('access decisions', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['BEARER   abc  ', 'abc'],
    ['Basic abc', null],
    ['Bearer', null],
    ['Bearer a b', null],
    [undefined, null],
  ])('bearer token of %j is %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it('compares secrets of any lengths', () => {
    expect(sameSecret('same-secret', 'same-secret')).toBe(true);
    expect(sameSecret('same-secret', 'same-secreT')).toBe(false);
    expect(sameSecret('short', 'a much longer secret')).toBe(false);
  });

  it.each<[string, Scope | 'public' | undefined, Requirement]>([
    ['/admin/api/v1/silences', undefined, 'admin token'],
    ['/admin/api/v1/keys', 'admin', 'admin'],
    ['/admin/api/v1/videos/v1/events', 'read', 'read'],
    ['/admin/login', undefined, 'public'],
    ['/admin/api/v1', undefined, 'public'],
    ['/api/v1/videos', 'upload', 'upload'],
    ['/api/v2/summary.json', undefined, 'public'],
    ['/uploads/abc', 'public', 'public'],
  ])('%s declaring %s needs %s', (path, declared, requirement) => {
    expect(requirementOf(path, declared)).toBe(requirement);
  });

  it.each<[string, Requirement, Principal | null | 'unknown', number | null]>([
    ['a public route, no credentials', 'public', null, null],
    ['the admin API, no credentials', 'admin token', null, 401],
    ['the admin API, a key (even with every scope)', 'admin token', principal('admin', 'read', 'upload', 'delete'), 401],
    ['the admin API, an unknown token', 'admin token', 'unknown', 401],
    ['the admin API, the admin token', 'admin token', ADMIN_PRINCIPAL, null],
    ['a scoped route, the admin token', 'delete', ADMIN_PRINCIPAL, null],
    ['no credentials', 'read', null, 401],
    ['a key that did not verify', 'read', 'unknown', 401],
    ['a key without the scope', 'delete', principal('read', 'upload'), 403],
    ['admin does not imply read', 'read', principal('admin'), 403],
    ['a key with the scope', 'read', principal('read'), null],
    ['a key with several scopes', 'upload', principal('read', 'upload'), null],
  ])('%s → %s', (_case, requirement, who, status) => {
    expect(authorize(requirement, who)?.status ?? null).toBe(status);
  });

  it.each([
    ['active', null, null, 'active'],
    ['expires later', null, 2_000, 'active'],
    ['expired', null, 1_000, 'expired'],
    ['expires right now', null, 1_500, 'expired'],
    ['revoked', 1_000, null, 'revoked'],
    ['revoked and expired', 1_000, 1_000, 'revoked'],
  ])('key %s', (_case, revokedAt, expiresAt, state) => {
    const toDate = (value: number | null) => (value === null ? null : new Date(value));
    expect(keyState({ revokedAt: toDate(revokedAt), expiresAt: toDate(expiresAt) }, 1_500)).toBe(state);
  });
});

describe('direct upload admission', () => {
  const upload: DirectUpload = {
    id: 'u1',
    keyId: 'k1',
    maxBytes: 1000,
    labels: {},
    callbackUrl: null,
    email: null,
    allowedOrigin: 'https://app.example',
    createdAt: new Date(0),
    expiresAt: new Date(10_000),
    receivingSince: null,
    usedAt: null,
  };
  type Request = Parameters<typeof admitDirectUpload>[1];
  const start: Request = { phase: 'start', now: 5_000, origin: 'https://app.example', allowedOrigins: ['https://app.example', 'https://other.example'], declaredBytes: 500 };
  it.each<[string, DirectUpload | null, Partial<Request>, number | null]>([
    ['unknown token', null, {}, 404],
    ['open, within limits', upload, {}, null],
    ['no Origin header (a server or curl)', upload, { origin: undefined }, null],
    ['size unknown before the body', upload, { declaredBytes: null }, null],
    ['used', { ...upload, usedAt: new Date(4_000) }, {}, 410],
    ['expired', upload, { now: 10_000 }, 410],
    ['used beats everything else', { ...upload, usedAt: new Date(4_000) }, { declaredBytes: 10_000 }, 410],
    ['an origin outside the allow-list', upload, { origin: 'https://evil.example' }, 403],
    ['an allowed origin, but not the one the link is bound to', upload, { origin: 'https://other.example' }, 403],
    ['no origin bound: any allowed origin', { ...upload, allowedOrigin: null }, { origin: 'https://other.example' }, null],
    ['no origin bound, origin outside the allow-list', { ...upload, allowedOrigin: null }, { origin: 'https://evil.example' }, 403],
    ['over its size', upload, { declaredBytes: 1001 }, 413],
    ['start while another transfer has it', { ...upload, receivingSince: new Date(4_000) }, {}, 409],
    ['resume a started tus upload', { ...upload, receivingSince: new Date(4_000) }, { phase: 'resume', declaredBytes: null }, null],
    ['resume with nothing started', upload, { phase: 'resume', declaredBytes: null }, 404],
    ['resume after expiry', { ...upload, receivingSince: new Date(4_000) }, { phase: 'resume', now: 11_000 }, 410],
  ])('%s → %s', (_case, row, request, status) => {
    expect(admitDirectUpload(row, { ...start, ...request })?.status ?? null).toBe(status);
  });
});

describe('upload quota', () => {
  const limits = { perKey: 600, perAddress: 60, bytesPerDay: 1000, concurrentUploads: 2 };
  const noon = Date.parse('2026-03-01T12:00:00Z');
  it.each([
    ['room left', { bytesToday: 100, declaredBytes: 500, inFlight: 1 }, null],
    ['exactly the quota', { bytesToday: 500, declaredBytes: 500, inFlight: 0 }, null],
    ['over the daily bytes: retry at UTC midnight', { bytesToday: 900, declaredBytes: 200, inFlight: 0 }, 12 * 3600],
    ['already spent, size unknown', { bytesToday: 1001, declaredBytes: 0, inFlight: 0 }, 12 * 3600],
    ['too many in flight', { bytesToday: 0, declaredBytes: 1, inFlight: 2 }, 5],
  ])('%s', (_case, usage, retryAfter) => {
    expect(quotaDecision(usage, limits, noon)?.retryAfterSeconds ?? null).toBe(retryAfter);
  });
});

describe('signed links', () => {
  const signer = createSigner('test-secret');
  it('status tokens name their video and cannot be forged or moved to another video', () => {
    const token = signer.statusToken('video-1');
    expect(signer.videoOfStatusToken(token)).toBe('video-1');
    expect(signer.videoOfStatusToken(token.replace('video-1', 'video-2'))).toBeNull();
    expect(signer.videoOfStatusToken('video-1')).toBeNull();
    expect(signer.videoOfStatusToken(`${token}x`)).toBeNull();
    expect(createSigner('another-secret').videoOfStatusToken(token)).toBeNull();
  });

  it('output links are valid until they expire, for their video and name only', () => {
    const query = Object.fromEntries(new URLSearchParams(signer.outputQuery('v1', '720p.mp4', 60_000)));
    expect(signer.checkOutput('v1', '720p.mp4', query, 59_000)).toBe('valid');
    expect(signer.checkOutput('v1', '720p.mp4', query, 60_000)).toBe('expired');
    expect(signer.checkOutput('v1', 'thumb.jpg', query, 0)).toBe('invalid');
    expect(signer.checkOutput('v2', '720p.mp4', query, 0)).toBe('invalid');
    expect(signer.checkOutput('v1', '720p.mp4', { ...query, expires: '999999' }, 0)).toBe('invalid');
    expect(signer.checkOutput('v1', '720p.mp4', {}, 0)).toBe('invalid');
  });
});
