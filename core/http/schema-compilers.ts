import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';
import type ValidatorSelector from '@fastify/ajv-compiler';
import type SerializerSelector from '@fastify/fast-json-stringify-compiler';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type ValidateFunction = ReturnType<ReturnType<ValidatorSelector.BuildCompilerFromPool>>;

const load = createRequire(import.meta.url);
// One of each per process, as Fastify makes them; each keeps the compiler of the last shared schemas it was given.
let validators: ValidatorSelector.BuildCompilerFromPool | undefined;
let serializers: SerializerSelector.SerializerFactory | undefined;

const buildValidator: ValidatorSelector.BuildCompilerFromPool = (externalSchemas, options) => {
  let compiler: ReturnType<ValidatorSelector.BuildCompilerFromPool> | undefined;
  return (route) => {
    let validate: ValidateFunction | undefined;
    const compiled = (): ValidateFunction =>
      (validate ??= (compiler ??= (validators ??= (load('@fastify/ajv-compiler') as typeof ValidatorSelector)())(externalSchemas, options))(route));
    // Fastify reads `errors` after a failed call, and passes the value's parent when there is a `schemaEnv`, as Ajv's
    // own function has.
    const firstUse = (data: unknown, dataContext?: Parameters<ValidateFunction>[1]) => compiled()(data, dataContext);
    return Object.defineProperties(firstUse, { errors: { get: () => compiled().errors }, schemaEnv: { get: () => compiled().schemaEnv } }) as unknown as ValidateFunction;
  };
};

const buildSerializer: SerializerSelector.SerializerFactory = (externalSchemas, options) => {
  let compiler: ReturnType<SerializerSelector.SerializerFactory> | undefined;
  return (route) => {
    let serialize: SerializerSelector.Serializer | undefined;
    return (doc: unknown) =>
      (serialize ??= (compiler ??= (serializers ??= (load('@fastify/fast-json-stringify-compiler') as typeof SerializerSelector)())(externalSchemas, options))(route))(doc);
  };
};

/**
 * Fastify's own compilers (Ajv for request schemas, fast-json-stringify for response schemas), each loaded when a
 * request first needs one, and compiling a route's schemas when the route is first used. Fastify compiles every
 * route's schemas at start: Ajv three times over (Fastify's, fast-json-stringify's and ajv-formats' copies) and a
 * serializer per response, about 250 modules and 8 MiB of heap kept by an idle process, most of whose routes are never
 * asked of (PostgreSQL idle heap used 47 -> 39 MiB, RSS 145 -> 134). A schema Ajv refuses now fails its route's first
 * request (and its tests), not the start. With compilers of its own given, Fastify no longer lower-cases the keys of a
 * route's `headers` schema: name them in lower case.
 */
export const schemaCompilersOnFirstUse: CompilersFactory = { buildValidator, buildSerializer };
