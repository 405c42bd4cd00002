import { fetch } from 'undici';
import type { CoreConfig } from '../config/schema.ts';
import { Secret } from '../config/secret.ts';
import { lockHolder } from '../db/lock.ts';
import { ADMIN_API_PREFIX } from '../http/auth.ts';
import { findLocalInstance } from '../lifecycle/instance.ts';
import type { VigilModule } from '../lifecycle/module.ts';
import { startVigil, type Vigil } from '../lifecycle/start.ts';
import { createLogger } from '../telemetry/logger.ts';

/** An answer of the admin API other than 2xx, with the message the server gave (it names the field at fault). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

/** The admin API of one Vigil, as the CLI's commands use it; paths are relative to /admin/api/v1. */
export interface AdminClient {
  /** What the commands talk to, for messages: a URL, or the store itself when no Vigil runs. */
  readonly target: string;
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  delete<T>(path: string): Promise<T>;
  close(): Promise<void>;
}

interface Response {
  status: number;
  body: string;
}

type Send = (method: string, url: string, headers: Record<string, string>, body?: string) => Promise<Response>;

function createClient(target: string, token: Secret | undefined, send: Send, close: () => Promise<void>): AdminClient {
  async function request<T>(method: string, path: string, query?: Query, body?: unknown): Promise<T> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) search.set(name, String(value));
    const url = `${ADMIN_API_PREFIX}${path}${search.size ? `?${search}` : ''}`;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token.reveal()}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await send(method, url, headers, body === undefined ? undefined : JSON.stringify(body));
    const parsed = response.body ? (JSON.parse(response.body) as { error?: { code?: string; message?: string } }) : {};
    if (response.status >= 400) {
      const message = response.status === 401 && !token
        ? `${target} needs the admin token: set VIGIL_ADMIN_TOKEN`
        : (parsed.error?.message ?? `HTTP ${response.status}`);
      throw new ApiError(response.status, parsed.error?.code ?? 'ERROR', message);
    }
    return parsed as T;
  }
  return {
    target,
    get: (path, query) => request('GET', path, query),
    post: (path, body) => request('POST', path, undefined, body ?? {}),
    delete: (path) => request('DELETE', path),
    close,
  };
}

/** A Vigil reached over HTTP. */
export function remoteClient(baseUrl: string, token: Secret | undefined): AdminClient {
  const base = baseUrl.replace(/\/+$/, '');
  return createClient(base, token, async (method, url, headers, body) => {
    let response;
    try {
      response = await fetch(`${base}${url}`, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(10 * 60_000) });
    } catch (error) {
      throw new Error(`cannot reach Vigil at ${base}: ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`, { cause: error });
    }
    return { status: response.status, body: await response.text() };
  }, async () => {});
}

/** No Vigil runs: the same API served in this process from the store, without listening or running any role but the API. */
export async function inProcessClient(config: CoreConfig, modules: readonly VigilModule[], version?: string): Promise<AdminClient> {
  const vigil: Vigil = await startVigil({ config, modules, roles: ['api'], listen: false, logger: createLogger({ level: 'silent' }), ...(version ? { version } : {}) });
  return createClient(`the store (${vigil.db.description}; no Vigil running)`, vigil.localToken, async (method, url, headers, body) => {
    const response = await vigil.http.inject({ method: method as 'GET' | 'POST' | 'DELETE', url, headers, ...(body !== undefined ? { payload: body } : {}) });
    return { status: response.statusCode, body: response.body };
  }, () => vigil.stop(5000));
}

export interface ConnectOptions {
  /** --url, else VIGIL_URL. */
  url?: string;
  env: NodeJS.ProcessEnv;
  loadConfig(): Promise<CoreConfig>;
  modules: readonly VigilModule[];
  version?: string;
  /** How long to wait for a Vigil that holds the data directory to start serving (default 60 s). */
  startupWaitMs?: number;
}

/** The Vigil named by --url/VIGIL_URL, else the one running from this configuration's data directory, else the store itself. */
export async function connect(options: ConnectOptions): Promise<AdminClient> {
  const url = options.url ?? options.env.VIGIL_URL;
  if (url) return remoteClient(url, options.env.VIGIL_ADMIN_TOKEN ? new Secret(options.env.VIGIL_ADMIN_TOKEN) : undefined);
  const config = await options.loadConfig();
  const { dataDir } = config.database;
  // A Vigil that holds the data directory but has not advertised itself yet is starting: wait for it rather than fail.
  const deadline = Date.now() + (options.startupWaitMs ?? 60_000);
  for (;;) {
    const local = findLocalInstance(config.database);
    if (local) return remoteClient(local.url, local.token);
    const holder = config.database.url ? undefined : lockHolder(dataDir);
    if (!holder) return inProcessClient(config, options.modules, options.version);
    if (Date.now() > deadline) {
      throw new Error(`Vigil (process ${holder.pid}) holds ${dataDir} but does not serve its API; run it with the api role, or name another Vigil with --url`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
