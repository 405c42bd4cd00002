import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { CliCommand } from '../core/cli/command.ts';
import { apiCommand, firstPositional, iso, print, table } from '../core/cli/output.ts';
import type { Clock } from '../core/clock.ts';
import { parseDuration } from '../core/config/duration.ts';
import { formatIssues } from '../core/config/load.ts';
import type { Db, Queryable } from '../core/db/index.ts';
import { sameSecret, SCOPES, type KeyVerifier, type Principal, type Scope } from '../core/http/auth.ts';
import type { HttpServer } from '../core/http/server.ts';
import type { ProcessingConfig } from './config.ts';

export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export type KeyState = 'active' | 'revoked' | 'expired';

/** Whether a stored key lets its holder in at `now`. */
export function keyState(key: Pick<ApiKey, 'expiresAt' | 'revokedAt'>, now: number): KeyState {
  if (key.revokedAt && key.revokedAt.getTime() <= now) return 'revoked';
  if (key.expiresAt && key.expiresAt.getTime() <= now) return 'expired';
  return 'active';
}

// "vk_<id>_<secret>": the id finds the row, the secret is compared with its stored hash.
const KEY_FORMAT = /^vk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

// Writing last use on every request would make each call a write; a minute's precision is enough to spot an unused key.
const LAST_USE_PRECISION_MS = 60_000;

const KEY_COLUMNS = `id, name, scopes, created_at as "createdAt", expires_at as "expiresAt", last_used_at as "lastUsedAt", revoked_at as "revokedAt"`;

type KeyRow = Omit<ApiKey, 'scopes' | 'createdAt' | 'expiresAt' | 'lastUsedAt' | 'revokedAt'> & {
  scopes: Scope[] | string;
  createdAt: Date | string;
  expiresAt: Date | string | null;
  lastUsedAt: Date | string | null;
  revokedAt: Date | string | null;
};

const date = (value: Date | string | null) => (value === null ? null : new Date(value));
const toKey = (row: KeyRow): ApiKey => ({
  id: row.id,
  name: row.name,
  scopes: typeof row.scopes === 'string' ? (JSON.parse(row.scopes) as Scope[]) : row.scopes,
  createdAt: new Date(row.createdAt),
  expiresAt: date(row.expiresAt),
  lastUsedAt: date(row.lastUsedAt),
  revokedAt: date(row.revokedAt),
});

/** Stores a new key and returns it with its one-time secret (`key`), which only its hash outlives. */
export async function createKey(db: Queryable, input: { name: string; scopes: Scope[]; expiresAt: Date | null; now: Date }): Promise<{ apiKey: ApiKey; key: string }> {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const [row] = await db.query<KeyRow>(
    `insert into processing_api_keys (id, name, scopes, secret_hash, created_at, expires_at) values ($1, $2, $3, $4, $5, $6) returning ${KEY_COLUMNS}`,
    [id, input.name, JSON.stringify([...new Set(input.scopes)]), hashSecret(secret), input.now, input.expiresAt],
  );
  return { apiKey: toKey(row!), key: `vk_${id}_${secret}` };
}

export async function listKeys(db: Queryable): Promise<ApiKey[]> {
  return (await db.query<KeyRow>(`select ${KEY_COLUMNS} from processing_api_keys order by created_at, id`)).map(toKey);
}

/** Revokes a key from `now` on; a key revoked before keeps its first revocation time. Null when there is no such key. */
export async function revokeKey(db: Queryable, id: string, now: Date): Promise<ApiKey | null> {
  const [row] = await db.query<KeyRow>(
    `update processing_api_keys set revoked_at = coalesce(revoked_at, $2) where id = $1 returning ${KEY_COLUMNS}`,
    [id, now],
  );
  return row ? toKey(row) : null;
}

async function findKeyForVerification(db: Queryable, id: string): Promise<(ApiKey & { secretHash: string }) | null> {
  const [row] = await db.query<KeyRow & { secretHash: string }>(`select ${KEY_COLUMNS}, secret_hash as "secretHash" from processing_api_keys where id = $1`, [id]);
  return row ? { ...toKey(row), secretHash: row.secretHash } : null;
}

async function touchKey(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query('update processing_api_keys set last_used_at = $2 where id = $1 and (last_used_at is null or last_used_at < $3)', [
    id,
    now,
    new Date(now.getTime() - LAST_USE_PRECISION_MS),
  ]);
}

/** Bytes a key's uploads added on the UTC day of `now`. */
export async function usedBytesToday(db: Queryable, keyId: string, now: Date): Promise<number> {
  const [row] = await db.query<{ bytes: string | number }>('select bytes from processing_key_usage where key_id = $1 and day = $2', [keyId, utcDay(now)]);
  return Number(row?.bytes ?? 0);
}

export async function recordUsage(db: Queryable, keyId: string, bytes: number, now: Date): Promise<void> {
  await db.query(
    `insert into processing_key_usage (key_id, day, bytes) values ($1, $2, $3)
     on conflict (key_id, day) do update set bytes = processing_key_usage.bytes + excluded.bytes`,
    [keyId, utcDay(now), bytes],
  );
}

const utcDay = (now: Date) => now.toISOString().slice(0, 10);

/** Checks presented keys: stored keys by id and hashed secret, config keys by value, both in constant time. */
export function keyVerifier(db: Db, clock: Clock, configKeys: ProcessingConfig['keys']): KeyVerifier {
  return async (presented) => {
    const fromConfig = configKeys.filter((candidate) => sameSecret(presented, candidate.key.reveal()));
    if (fromConfig[0]) return { keyId: `config:${fromConfig[0].name}`, name: fromConfig[0].name, scopes: new Set(fromConfig[0].scopes) };
    const match = KEY_FORMAT.exec(presented);
    if (!match) return null;
    const stored = await findKeyForVerification(db, match[1]!);
    if (!stored) return null;
    if (!timingSafeEqual(Buffer.from(hashSecret(match[2]!), 'hex'), Buffer.from(stored.secretHash, 'hex'))) return null;
    if (keyState(stored, clock.now()) !== 'active') return null;
    await touchKey(db, stored.id, clock.date());
    return { keyId: stored.id, name: stored.name, scopes: new Set(stored.scopes) } satisfies Principal;
  };
}

class KeyInputError extends Error {
  readonly statusCode = 400;
  readonly code = 'BAD_REQUEST';
}

const keyName = z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'use 1 to 64 letters, digits, ".", "_" or "-"');
const scopeList = z.array(z.enum(SCOPES)).min(1, `give at least one of ${SCOPES.join(', ')}`);

/** "30d" (from now) or an ISO date → the expiry; undefined → none. */
function expiryOf(value: string | undefined, now: number): Date | null {
  if (value === undefined) return null;
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : now + safeDuration(value);
  if (Number.isNaN(at) || at <= now) throw new KeyInputError(`expires: "${value}" is neither a duration like 30d nor a future ISO date`);
  return new Date(at);
}

function safeDuration(value: string): number {
  try {
    return parseDuration(value);
  } catch {
    return Number.NaN;
  }
}

const createBody = z.strictObject({ name: keyName, scopes: scopeList, expires: z.string().optional() });

/** The view of a key in answers and the CLI: never its secret or hash. */
export const describeKey = (key: ApiKey, now: number) => ({
  id: key.id,
  name: key.name,
  scopes: key.scopes,
  state: keyState(key, now),
  createdAt: key.createdAt.toISOString(),
  expiresAt: key.expiresAt?.toISOString() ?? null,
  lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
  revokedAt: key.revokedAt?.toISOString() ?? null,
});

/** `/admin/api/v1/keys`: create (the key is in this answer only), list, revoke. Registered inside the scope-checked routes. */
export function registerKeyRoutes(http: HttpServer, deps: { db: Db; clock: Clock }): void {
  const admin = { scope: 'admin' } as const;
  http.get('/admin/api/v1/keys', { config: admin }, async () => ({ keys: (await listKeys(deps.db)).map((key) => describeKey(key, deps.clock.now())) }));
  http.post('/admin/api/v1/keys', { config: admin }, async (request, reply) => {
    const parsed = createBody.safeParse(request.body ?? {});
    if (!parsed.success) throw new KeyInputError(`Invalid request: ${formatIssues(parsed.error).join('; ')}`);
    const now = deps.clock.now();
    const { apiKey, key } = await createKey(deps.db, { name: parsed.data.name, scopes: parsed.data.scopes, expiresAt: expiryOf(parsed.data.expires, now), now: new Date(now) });
    return reply.status(201).send({ ...describeKey(apiKey, now), key });
  });
  http.delete<{ Params: { id: string } }>('/admin/api/v1/keys/:id', { config: admin }, async (request) => {
    const revoked = await revokeKey(deps.db, request.params.id, deps.clock.date());
    if (!revoked) throw Object.assign(new Error(`No API key with id "${request.params.id}"`), { statusCode: 404, code: 'NOT_FOUND' });
    return describeKey(revoked, deps.clock.now());
  });
}

type KeyView = ReturnType<typeof describeKey>;

const keyTable = (keys: readonly KeyView[]) =>
  table(['ID', 'NAME', 'SCOPES', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED'], keys.map((key) => [key.id, key.name, key.scopes.join(','), key.state, iso(key.createdAt), iso(key.expiresAt), iso(key.lastUsedAt)]));

/** `vigil keys ...`: through the admin API of the running Vigil (or the store when none runs), like every admin verb. */
export const keyCommands: CliCommand[] = [
  {
    name: 'keys create',
    summary: 'Create a processing API key; it is printed once and stored only as a hash',
    usage: `<name> --scope ${SCOPES.join('|')}... [--expires 90d|ISO]`,
    positionals: 1,
    options: { scope: { type: 'string', multiple: true }, expires: { type: 'string' } },
    async run(args, io) {
      const name = firstPositional(args, 'give the key a name, e.g. "vigil keys create backend --scope upload --scope read"');
      const body = { name, scopes: args.values.scope ?? [], ...(args.values.expires ? { expires: args.values.expires } : {}) };
      const created = await (await io.connect()).post<KeyView & { key: string }>('/keys', body);
      print(io, created, () => [...keyTable([created]), '', created.key]);
      io.err('This is the only time the key is shown: store it now.');
      return 0;
    },
  },
  apiCommand({
    name: 'keys list',
    summary: 'List processing API keys (never their secrets): scopes, state, expiry, last use',
    call: async (api) => (await api.get<{ keys: KeyView[] }>('/keys')).keys,
    lines: (keys) => (keys.length === 0 ? ['no keys'] : keyTable(keys)),
  }),
  apiCommand({
    name: 'keys revoke',
    summary: 'Revoke a processing API key at once',
    usage: '<id>',
    positionals: 1,
    call: (api, args) => api.delete<KeyView>(`/keys/${encodeURIComponent(firstPositional(args, 'give the key id (see `vigil keys list`)'))}`),
    lines: (revoked) => [`key ${revoked.id} (${revoked.name}) revoked at ${iso(revoked.revokedAt)}`],
  }),

];
