import { defineModule, type Component, type ModuleContext } from '../core/lifecycle/module.ts';
import { loadProbes } from '../probes/index.ts';
import { registerStatusAdminRoutes } from './admin.ts';
import { statusAssets } from './assets.ts';
import { statusCommands } from './cli.ts';
import { statusPageConfigSchema, type StatusPageHostConfig } from './config.ts';
import { loadComponents } from './define.ts';
import { statusPageMigrations } from './migrations.ts';
import { registerPublicRoutes } from './routes.ts';
import { statusPageMetrics } from './metrics.ts';
import { createStatusSite } from './service.ts';
import { registerEmbedRoutes } from './embed.ts';
import { createMailer } from '../core/mail.ts';
import { componentsOf } from './incidents.ts';
import { createDeliveries } from './deliveries.ts';
import { registerSubscribePages } from './subscribe-pages.ts';
import { registerSubscriberAdminRoutes, subscriberCommands } from './subscribers-admin.ts';
import { loadSubscriptionSigner } from './subscriptions.ts';

export { component, type AnyComponentDefinition, type ComponentDefinition } from './define.ts';
export type { Branding, StatusPageConfig, StatusPageHostConfig } from './config.ts';
export { componentState, maintenanceStatus, overallIndicator, type ComponentStatus, type Indicator, type MaintenanceStatus } from './state.ts';

function problemsOf(config: StatusPageHostConfig): string[] {
  const probes = new Set(loadProbes(config.probes).probes.map((probe) => probe.definition.name));
  const rules = new Set(config.alerts.rules.map((rule) => rule.name));
  return loadComponents(config.statusPage.components, { probes, rules }).problems;
}

export const statusPageModule = defineModule({
  name: 'status-page',
  config: { key: 'statusPage', schema: statusPageConfigSchema },
  migrations: statusPageMigrations,
  commands: [...statusCommands, ...subscriberCommands],
  validate: (config: StatusPageHostConfig) => problemsOf(config),
  describe: (config: StatusPageHostConfig) => `${config.statusPage.components.length} status page component(s)`,
  async setup(ctx: ModuleContext<StatusPageHostConfig>): Promise<Component[]> {
    if (!ctx.roles.has('api')) return [];
    for (const problem of problemsOf(ctx.config)) ctx.logger.error({ problem }, 'status page component skipped');
    // The page, its assets and the banner face the internet: the public listener (the only one unless server.public is set).
    const { cssUrl, cssBody } = statusAssets(ctx.publicHttp);
    // Links are built from server.publicUrl; without one, from the address the server actually listens on.
    const publicUrl = () => {
      const address = ctx.publicHttp.server.address();
      if (ctx.config.server.publicUrl || !address || typeof address === 'string') return ctx.publicUrl;
      return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    };
    const site = createStatusSite({ db: ctx.db, config: ctx.config, clock: ctx.clock, logger: ctx.logger, publicUrl, cssUrl, cssBody });
    ctx.publicHttp.addHook('onListen', async () => void site.refresh());
    statusPageMetrics(ctx.registry, site.components);
    registerPublicRoutes(ctx.publicHttp, { site: site.site, rateLimit: ctx.config.statusPage.rateLimit });
    registerEmbedRoutes(ctx.publicHttp, site.banner);
    // Subscriptions: the /subscribe pages, and what subscribers are sent (through one outbox, with the processing notices' mail transport).
    const mailer = createMailer(ctx.config.smtp);
    const signer = await loadSubscriptionSigner(ctx.db);
    const deliveries = createDeliveries({ db: ctx.db, queue: ctx.queue, clock: ctx.clock, logger: ctx.logger, mailer, config: ctx.config, components: componentsOf(ctx.config), signer, publicUrl });
    ctx.publicHttp.addHook('onListen', async () => void deliveries.scan());
    registerSubscribePages(ctx.publicHttp, { db: ctx.db, clock: ctx.clock, settings: ctx.config.statusPage, signer, deliveries, model: site.model, cssUrl });
    registerSubscriberAdminRoutes(ctx.http, { db: ctx.db });
    // An admin change (a maintenance scheduled, moved, cancelled) is handed to subscribers at once, not at the next scan.
    const refresh = async (options?: { reread?: boolean }) => {
      await site.refresh(options);
      void deliveries.scan();
    };
    registerStatusAdminRoutes(ctx.http, { db: ctx.db, clock: ctx.clock, config: ctx.config, refresh, site: site.site, css: { url: cssUrl, body: cssBody }, banner: site.banner });
    return [site, deliveries];
  },
});
