// Fastify with the compilers loaded on first use answers as with its own: the same validation errors, coercions,
// defaults and serialized responses.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { schemaCompilersOnFirstUse } from '../../core/http/schema-compilers.ts';

function appWith(options: FastifyServerOptions): FastifyInstance {
  const app = Fastify(options);
  app.post('/items/:id', {
    schema: {
      params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, default: 10 }, at: { type: 'string', format: 'date-time' } } },
      body: { type: 'object', properties: { name: { type: 'string', minLength: 1 } }, required: ['name'], additionalProperties: false },
      response: { 200: { type: 'object', properties: { id: { type: 'integer' }, limit: { type: 'integer' }, name: { type: 'string' } } } },
    },
    handler: (request) => ({ ...(request.params as object), ...(request.query as object), ...(request.body as object), secret: 'not in the schema' }),
  });
  return app;
}

const own = appWith({});
const onFirstUse = appWith({ schemaController: { compilersFactory: schemaCompilersOnFirstUse } });
afterAll(() => Promise.all([own.close(), onFirstUse.close()]));

describe('schema compilers loaded on first use', () => {
  it.each([
    ['a valid request, coerced, defaulted and serialized', '/items/7', { name: 'a' }],
    ['a querystring given', '/items/7?limit=3&at=2026-01-01T00:00:00Z', { name: 'a' }],
    ['a bad parameter', '/items/0', { name: 'a' }],
    ['a bad querystring', '/items/7?limit=none', { name: 'a' }],
    ['a bad format', '/items/7?at=yesterday', { name: 'a' }],
    ['a body missing a property', '/items/7', {}],
    ['a body with one too many', '/items/7', { name: 'a', other: 1 }],
  ])('answers %s as Fastify does', async (_case, url, body) => {
    const [expected, actual] = await Promise.all([own, onFirstUse].map((app) => app.inject({ method: 'POST', url, payload: body })));
    expect({ status: actual!.statusCode, body: actual!.json() as unknown }).toEqual({ status: expected!.statusCode, body: expected!.json() as unknown });
  });
});
