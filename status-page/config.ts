import { z } from 'zod';
import type { AlertsHostConfig } from '../alerts/config.ts';
import { duration } from '../core/config/duration.ts';
import type { AnyComponentDefinition } from './define.ts';

const colour = z.string().regex(/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/, 'use a hex colour like #1a7f37');

/** What the page says and looks like; every field can also be changed at run time through the admin API. */
export const brandingSchema = z.strictObject({
  name: z.string().trim().min(1).max(100).default('Status'),
  /** An image on this origin ("/logo.png") or an https URL, whose origin the page's CSP then allows for images. */
  logoUrl: z.string().max(2000).regex(/^(\/[^/]|https:\/\/)/, 'use a path on this server or an https URL').optional(),
  timeZone: z.string().default('UTC'),
  colors: z
    .strictObject({
      operational: colour.default('#1a7f37'),
      degraded: colour.default('#9a6700'),
      partial: colour.default('#bc4c00'),
      major: colour.default('#cf222e'),
      maintenance: colour.default('#0969da'),
      accent: colour.default('#0969da'),
    })
    .default({ operational: '#1a7f37', degraded: '#9a6700', partial: '#bc4c00', major: '#cf222e', maintenance: '#0969da', accent: '#0969da' }),
  links: z.array(z.strictObject({ label: z.string().trim().min(1).max(60), url: z.url({ protocol: /^https?$/ }) })).max(10).default([]),
  footer: z.string().max(500).default(''),
  /** Language strings, keyed as in the README (e.g. `allOperational`); missing keys fall back to English. */
  strings: z.record(z.string(), z.string().max(300)).default({}),
});

export type Branding = z.output<typeof brandingSchema>;
export type BrandingInput = z.input<typeof brandingSchema>;

/** What the statusPage alert receiver publishes: public wording (never the alert's internal summary) and the hold. */
const automaticSchema = z.strictObject({
  /** `{components}` is replaced by the affected components' public names. */
  title: z.string().min(1).max(200).default('Problems with {components}'),
  investigating: z.string().min(1).max(2000).default('We are investigating problems with {components}.'),
  monitoring: z.string().min(1).max(2000).default('{components} is working again. We are monitoring the results.'),
  resolved: z.string().min(1).max(2000).default('This incident has been resolved.'),
  /** How long a recovered incident stays "monitoring" before "resolved"; a relapse in that time reopens it. */
  hold: duration().default(10 * 60_000),
});

/** /subscribe: how long a confirmation link works, requests an hour per client and per address, the first retry of a delivery. */
const subscriptionsSchema = z.strictObject({
  confirmWithin: duration().default(86_400_000),
  perClient: z.number().int().min(1).default(10),
  perAddress: z.number().int().min(1).default(3),
  retryDelay: duration().default(30_000),
});

/** Subscribers hear of a maintenance when it is scheduled, moved or cancelled, these long before it starts, at its start and at its end. */
const maintenanceEmailsSchema = z.strictObject({ reminders: z.array(duration()).max(5).default([86_400_000, 3_600_000]) });

export const statusPageConfigSchema = z
  .strictObject({
    /** Made with component({ ... }); checked by the loader so one bad component is reported and skipped. */
    components: z.array(z.custom<AnyComponentDefinition>(() => true)).default([]),
    branding: brandingSchema.default(brandingSchema.parse({})),
    /** How often the page's data is re-read; the page, JSON, feeds and badges are rebuilt only when it changed. */
    refresh: duration().default(5000),
    /** After the maintenance window ends it shows "verifying" this long, then "completed". */
    verifyFor: duration().default(0),
    automatic: automaticSchema.default(automaticSchema.parse({})),
    /** Requests per minute per client address on the public paths. */
    rateLimit: z.number().int().min(1).default(600),
    /** The embeddable banner: maintenance is announced `leadTime` ahead; a resolved incident's banner stays `holdTime`. */
    banner: z.strictObject({ leadTime: duration().default(24 * 3_600_000), holdTime: duration().default(5 * 60_000) }).default({ leadTime: 86_400_000, holdTime: 300_000 }),
    /** Keeps a static copy (page, JSON, feeds, badges) in `dir`, rewritten `every` interval while it changes. */
    export: z.strictObject({ dir: z.string().min(1), every: duration().default(60_000) }).optional(),
    subscriptions: subscriptionsSchema.default(subscriptionsSchema.parse({})),
    maintenanceEmails: maintenanceEmailsSchema.default(maintenanceEmailsSchema.parse({})),
  })
  .default({ components: [], branding: brandingSchema.parse({}), refresh: 5000, verifyFor: 0, automatic: automaticSchema.parse({}), rateLimit: 600, banner: { leadTime: 86_400_000, holdTime: 300_000 }, subscriptions: subscriptionsSchema.parse({}), maintenanceEmails: maintenanceEmailsSchema.parse({}) });

export type StatusPageConfig = z.output<typeof statusPageConfigSchema>;
/** The configuration the status page reads: core's sections, the probes and alert rules its components are made of, and its own. */
export type StatusPageHostConfig = AlertsHostConfig & { statusPage: StatusPageConfig };
