import { z } from 'zod';
import { duration } from './duration.ts';
import { secret } from './secret.ts';

/** Where one listener binds; a field left out is taken from server.host / server.port. */
const listener = z.strictObject({
  host: z.string().min(1).optional(),
  port: z.coerce.number().int().min(0).max(65535).optional(),
});

/** The sections of vigil.config.ts that core itself reads; each module adds its own section (see assemble.ts). */
export const coreConfigShape = {
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.coerce.number().int().min(0).max(65535).default(8080),
      /** The address users and probes reach this Vigil at (its public listener); defaults to http://host:port. */
      publicUrl: z.url().optional(),
      /**
       * The internet-facing listener (status page, direct upload URLs, video status by token, signed media links).
       * Unset: one listener at host:port serves everything. Set: public paths move here and host:port (or
       * `internal`) keeps the processing API, the admin API and /metrics.
       */
      public: listener.optional(),
      /** The operator-facing listener; defaults to host:port. */
      internal: listener.optional(),
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
};

/** An environment variable that wins over a field of the config file, so one file serves every deployment. */
export interface EnvOverride {
  variable: string;
  section: string;
  field: string;
}

export const coreEnvOverrides: readonly EnvOverride[] = [
  { variable: 'VIGIL_HOST', section: 'server', field: 'host' },
  { variable: 'VIGIL_PORT', section: 'server', field: 'port' },
  { variable: 'VIGIL_PUBLIC_URL', section: 'server', field: 'publicUrl' },
  { variable: 'VIGIL_ADMIN_TOKEN', section: 'server', field: 'adminToken' },
  { variable: 'DATABASE_URL', section: 'database', field: 'url' },
  { variable: 'VIGIL_DATA_DIR', section: 'database', field: 'dataDir' },
  { variable: 'SMTP_URL', section: 'smtp', field: 'url' },
  { variable: 'SMTP_FROM', section: 'smtp', field: 'from' },
  { variable: 'SLACK_BOT_TOKEN', section: 'slack', field: 'token' },
  { variable: 'SLACK_API_URL', section: 'slack', field: 'apiUrl' },
  { variable: 'VIGIL_LOG_LEVEL', section: 'logging', field: 'level' },
];

/** The part of the validated configuration every module can read (server, database, smtp, slack, logging). */
export type CoreConfig = z.output<z.ZodObject<typeof coreConfigShape>>;
