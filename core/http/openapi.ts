import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { ADMIN_API_PREFIX } from './auth.ts';

const DOCUMENT_URL = `${ADMIN_API_PREFIX}/openapi.json`;

/**
 * Serves the admin API's OpenAPI document, made from the schemas its routes declare; the public routes are not part
 * of it. The routes are noted as they are added, and the document is made when first asked for: @fastify/swagger and
 * what it loads (yaml, a JSON-schema resolver: about 90 modules) stayed in every process for a document few ever ask for.
 */
export function serveOpenApiDocument(app: FastifyInstance, version: string): void {
  const routes: RouteOptions[] = [];
  // As @fastify/swagger notes them: the HEAD route Fastify adds to each GET is not documented.
  app.addHook('onRoute', (route) => {
    if (route.method !== 'HEAD') routes.push(route);
  });
  let document: Promise<unknown> | undefined;
  app.get(DOCUMENT_URL, () =>
    (document ??= documentOf(routes, version).catch((error: unknown) => {
      document = undefined;
      throw error;
    })),
  );
}

/** The document @fastify/swagger makes of `routes`, on an instance of Fastify that only holds their declarations. */
async function documentOf(routes: readonly RouteOptions[], version: string): Promise<unknown> {
  const { default: swagger } = await import('@fastify/swagger');
  const declarations = Fastify({ exposeHeadRoutes: false });
  // The schemas were compiled by the instance that serves the routes; here they are only read.
  declarations.setValidatorCompiler(() => () => true);
  declarations.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await declarations.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Vigil administration API', version },
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
      security: [{ adminToken: [] }],
    },
    transform: ({ schema, url }) => ({ schema: { ...schema, hide: !url.startsWith(`${ADMIN_API_PREFIX}/`) || url === DOCUMENT_URL }, url }),
  });
  for (const route of routes) {
    declarations.route({ method: route.method, url: route.url, ...(route.schema ? { schema: route.schema } : {}), ...(route.config ? { config: route.config } : {}), ...(route.constraints ? { constraints: route.constraints } : {}), handler: () => undefined });
  }
  await declarations.ready();
  try {
    return declarations.swagger();
  } finally {
    await declarations.close();
  }
}
