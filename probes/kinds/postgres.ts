import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { z } from 'zod';
import { secret } from '../../core/config/secret.ts';
import { defineKind, urlTarget } from '../define.ts';
import { since, untilAborted } from './abort.ts';

const options = z.strictObject({
  /** postgres://user:password@host:port/database; never printed. */
  url: secret(),
  query: z.string().min(1).default('select 1'),
  /** Fewest rows the query must return. */
  minRows: z.number().int().min(0).default(1),
});

/** Connects to PostgreSQL and runs a query. */
export const postgres = defineKind({
  kind: 'postgres',
  options,
  target: (config) => urlTarget(config.url.reveal()),
  async run(config, context) {
    const start = performance.now();
    const client = new pg.Client({ connectionString: config.url.reveal(), application_name: `vigil-probe ${context.probe}` });
    client.on('error', () => {});
    const release = () => void client.end().catch(() => {});
    try {
      await untilAborted(client.connect(), context.signal, release);
      const connected = performance.now();
      const result = await untilAborted(client.query(config.query), context.signal, release);
      const timings = { connect: since(start, connected), query: since(connected, performance.now()) };
      const rows = result.rowCount ?? result.rows.length;
      if (rows < config.minRows) return { success: false, failure: 'assertion', reason: `the query returned ${rows} row(s), expected at least ${config.minRows}`, timings };
      return { success: true, timings, details: { rows } };
    } finally {
      release();
    }
  },
});
