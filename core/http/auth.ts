import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Secret } from '../config/secret.ts';
import type { HttpServer } from './server.ts';

/** What an API key may do. `admin` adds key management and the internal details of answers; it implies no other scope. */
export const SCOPES = ['upload', 'read', 'delete', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who made a request: an API key, or the admin token acting as a key with every scope. */
export interface Principal {
  /** The key's id; null for the admin token. */
  keyId: string | null;
  name: string;
  scopes: ReadonlySet<Scope>;
}

/** Looks a presented key up; null when it is unknown, revoked or expired. */
export type KeyVerifier = (presented: string) => Promise<Principal | null>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs, or "public" for a route anyone may call. Every route behind `requireScopes` declares one. */
    scope?: Scope | 'public';
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export const ADMIN_PRINCIPAL: Principal = { keyId: null, name: 'admin token', scopes: new Set(SCOPES) };

/** "Bearer abc" (the scheme in any case) → "abc"; anything else → null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

/** Compares two secrets in time independent of where they differ and of their lengths (both are hashed first). */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

export interface Refusal {
  status: 401 | 403;
  code: 'UNAUTHORIZED' | 'FORBIDDEN';
  message: string;
}

/** The access decision for a route needing `scope`: who presented what (null: no credentials; 'unknown': a key that did not verify). */
export function authorize(scope: Scope, principal: Principal | null | 'unknown'): Refusal | null {
  if (principal === null) {
    return { status: 401, code: 'UNAUTHORIZED', message: `This route needs an API key with the "${scope}" scope: send it as "Authorization: Bearer <key>".` };
  }
  if (principal === 'unknown') return { status: 401, code: 'UNAUTHORIZED', message: 'The API key is unknown, revoked or expired.' };
  if (!principal.scopes.has(scope)) {
    return { status: 403, code: 'FORBIDDEN', message: `The key "${principal.name}" lacks the "${scope}" scope this route needs.` };
  }
  return null;
}

/**
 * Makes every route registered in `scope` declare `config.scope`, and checks it on each request before the body is
 * read: the admin token (when configured) or a key the verifier accepts, holding the declared scope.
 */
export function requireScopes(http: HttpServer, options: { adminToken: Secret | undefined; verifyKey: KeyVerifier }): void {
  http.addHook('onRoute', (route: RouteOptions) => {
    if (!route.config?.scope) throw new Error(`${route.method} ${route.url} declares no scope (config.scope: a scope or "public")`);
  });
  http.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const scope = request.routeOptions.config.scope;
    if (scope === 'public' || scope === undefined) return;
    const presented = bearerToken(request.headers.authorization);
    let principal: Principal | null | 'unknown' = null;
    if (presented !== null) {
      const admin = options.adminToken && sameSecret(presented, options.adminToken.reveal());
      principal = admin ? ADMIN_PRINCIPAL : ((await options.verifyKey(presented)) ?? 'unknown');
    }
    const refusal = authorize(scope, principal);
    if (refusal) {
      if (refusal.status === 401) reply.header('www-authenticate', 'Bearer');
      return reply.status(refusal.status).send({ error: { code: refusal.code, message: refusal.message } });
    }
    request.principal = principal as Principal;
  });
}
