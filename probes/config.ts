import { z } from 'zod';

// The probes section of vigil.config.ts. Owned by probes/; core/config composes it.
export const probesConfigSchema = z.array(z.unknown()).default([]);

export type ProbesConfig = z.output<typeof probesConfigSchema>;
