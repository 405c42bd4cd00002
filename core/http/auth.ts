import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Secret } from '../config/secret.ts';
import type { HttpServer } from './server.ts';

/** Where the administration API lives; a path under it that declares no scope needs an admin token. */
export const ADMIN_API_PREFIX = '/admin/api/v1';

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
    /** The scope a route needs, or "public" for a route anyone may call. Every route behind `declareScopes` declares one. */
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

/**
 * What a route asks of its caller: a scope that an API key (or an admin token, which holds them all) must hold, an
 * admin token itself, or nothing. A route's declared `config.scope` decides; undeclared, the admin API needs an admin
 * token and everything else is public.
 */
export type Requirement = Scope | 'admin token' | 'public';

export function requirementOf(path: string, declared: Scope | 'public' | undefined): Requirement {
  if (declared !== undefined) return declared;
  return path.startsWith(`${ADMIN_API_PREFIX}/`) ? 'admin token' : 'public';
}

/** The access decision for a route needing `requirement`: who presented what (null: no credentials; 'unknown': a token or key that did not verify). */
export function authorize(requirement: Requirement, principal: Principal | null | 'unknown'): Refusal | null {
  if (requirement === 'public') return null;
  if (requirement === 'admin token') {
    return principal === ADMIN_PRINCIPAL ? null : { status: 401, code: 'UNAUTHORIZED', message: 'Missing or wrong bearer token for the admin API.' };
  }
  if (principal === null) {
    return { status: 401, code: 'UNAUTHORIZED', message: `This route needs an API key with the "${requirement}" scope: send it as "Authorization: Bearer <key>".` };
  }
  if (principal === 'unknown') return { status: 401, code: 'UNAUTHORIZED', message: 'The API key is unknown, revoked or expired.' };
  if (!principal.scopes.has(requirement)) {
    return { status: 403, code: 'FORBIDDEN', message: `The key "${principal.name}" lacks the "${requirement}" scope this route needs.` };
  }
  return null;
}

/** The token among `tokens` that equals `presented`; every token is compared, each in constant time. */
export function matchingToken(presented: string, tokens: readonly Secret[]): Secret | undefined {
  return tokens.filter((token) => sameSecret(presented, token.reveal()))[0];
}

/**
 * The one access check of a process, shared by its listeners: every request is checked against its route's
 * requirement before its body is read. Admin tokens are known from the start; API keys are verified by whichever
 * module issues them (`verifyKeysWith`); until one does, no key verifies.
 */
export interface AccessControl {
  /** An onRequest hook in callback style: a public route passes synchronously (no promise on the hot path). */
  check(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void;
  verifyKeysWith(verifier: KeyVerifier): void;
}

export function accessControl(adminTokens: readonly Secret[]): AccessControl {
  let verifyKey: KeyVerifier = async () => null;
  const identify = async (presented: string | null, requirement: Requirement): Promise<Principal | null | 'unknown'> => {
    if (presented === null) return null;
    if (matchingToken(presented, adminTokens)) return ADMIN_PRINCIPAL;
    // The admin API takes no keys, so a presented one is not looked up there.
    return requirement === 'admin token' ? 'unknown' : ((await verifyKey(presented)) ?? 'unknown');
  };
  return {
    verifyKeysWith(verifier) {
      verifyKey = verifier;
    },
    check(request, reply, done) {
      const requirement = requirementOf(request.url, request.routeOptions.config?.scope);
      if (requirement === 'public') {
        done();
        return;
      }
      identify(bearerToken(request.headers.authorization), requirement).then((principal) => {
        const refusal = authorize(requirement, principal);
        if (refusal) {
          if (refusal.status === 401) reply.header('www-authenticate', 'Bearer');
          void reply.status(refusal.status).send({ error: { code: refusal.code, message: refusal.message } });
          return;
        }
        if (principal !== null && principal !== 'unknown') request.principal = principal;
        done();
      }, done);
    },
  };
}

/** Makes every route registered in `scope` declare `config.scope`, so that none is public by omission. */
export function declareScopes(http: HttpServer): void {
  http.addHook('onRoute', (route: RouteOptions) => {
    if (!route.config?.scope) throw new Error(`${route.method} ${route.url} declares no scope (config.scope: a scope or "public")`);
  });
}
