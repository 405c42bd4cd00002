import { z } from 'zod';

// The alerts section of vigil.config.ts. Owned by alerts/; core/config composes it.
export const alertsConfigSchema = z.strictObject({}).default({});

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
