import { z } from 'zod';
import { alertsConfigSchema } from '../../alerts/config.ts';
import { processingConfigSchema } from '../../processing/config.ts';
import { probesConfigSchema } from '../../probes/config.ts';
import { duration } from './duration.ts';
import { secret } from './secret.ts';

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.coerce.number().int().min(0).max(65535).default(8080),
      /** The address users and probes reach this Vigil at; defaults to http://host:port. */
      publicUrl: z.url().optional(),
      adminToken: secret().optional(),
      /** How long SIGTERM waits for in-flight work before handing it back. */
      shutdownTimeout: duration().default(10_000),
    })
    .default({ host: '127.0.0.1', port: 8080, shutdownTimeout: 10_000 }),
  database: z
    .strictObject({
      /** PostgreSQL connection string; without it Vigil runs on embedded PGlite in dataDir. */
      url: secret().optional(),
      dataDir: z.string().min(1).default('.vigil/data'),
      poolSize: z.number().int().min(1).max(200).default(10),
    })
    .default({ dataDir: '.vigil/data', poolSize: 10 }),
  smtp: z
    .strictObject({
      url: secret().optional(),
      from: z.string().min(3).default('Vigil <vigil@localhost>'),
    })
    .default({ from: 'Vigil <vigil@localhost>' }),
  slack: z
    .strictObject({
      token: secret().optional(),
      apiUrl: z.url().optional(),
    })
    .default({}),
  logging: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .default({ level: 'info' }),
  processing: processingConfigSchema,
  probes: probesConfigSchema,
  alerts: alertsConfigSchema,
});

/** What vigil.config.ts writes (durations as "30s", secrets as strings, most fields optional). */
export type VigilConfigInput = z.input<typeof configSchema>;
/** The validated configuration every component receives. */
export type VigilConfig = z.output<typeof configSchema>;
