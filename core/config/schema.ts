import { z } from 'zod';
import { isAddressOrRange } from '../http/proxies.ts';
import { bytes } from './bytes.ts';
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
      /** Largest request body; a route may declare its own (uploads do). A larger Content-Length is answered 413 before the body is read. */
      bodyLimit: bytes().default(1024 * 1024),
      /** A client must send its complete request headers within this, else 408 and the connection is closed. */
      headersTimeout: duration().default(10_000),
      /** A request whose body stops arriving for this long is closed (uploads included). */
      bodyIdleTimeout: duration().default(30_000),
      /** A whole request (headers and body) must arrive within this; routes that stream their body (uploads) are bound by bodyIdleTimeout instead. */
      requestTimeout: duration().default(60_000),
      /** An idle keep-alive connection is closed after this. */
      keepAliveTimeout: duration().default(5_000),
      /** A keep-alive connection is closed after this many requests (0: no limit). */
      maxRequestsPerConnection: z.number().int().min(0).default(1000),
      /** Open connections in total; at the cap, the oldest connection with no request in progress is closed, else the new one gets 503. */
      maxConnections: z.number().int().min(1).default(1024),
      /** Open connections per client address; connections from a trusted proxy (`trustProxy`) count only towards the total. */
      maxConnectionsPerClient: z.number().int().min(1).default(256),
      /**
       * The reverse proxies in front of Vigil, as addresses or CIDR ranges ("10.0.0.0/8"). Requests through them are
       * attributed to the client named in X-Forwarded-For (rate limits, logs), and their connections are exempt from
       * the per-client cap. Empty: X-Forwarded-For is ignored, as any client could write it.
       */
      trustProxy: z.array(z.string().refine(isAddressOrRange, 'must be an IP address or a CIDR range like 10.0.0.0/8')).default([]),
    })
    .prefault({}),
  database: z
    .strictObject({
      /** PostgreSQL connection string; without it Vigil runs on embedded PGlite in dataDir. */
      url: secret().optional(),
      dataDir: z.string().min(1).default('.vigil/data'),
      poolSize: z.number().int().min(1).max(200).default(10),
      /** /readyz fails when the embedded data directory has less free space than this. */
      minFreeSpace: bytes().default(256 * 1024 ** 2),
    })
    // `url: process.env.DATABASE_URL` with the variable unset would quietly start a second, empty embedded store.
    .superRefine((database, ctx) => {
      if ('url' in database && database.url === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['url'],
          message:
            "is written in the config but its value is undefined (an unset environment variable?): set it, write env('DATABASE_URL') to fail with the variable's name, or remove the field to use the embedded store in database.dataDir",
        });
      }
    })
    .prefault({}),
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
