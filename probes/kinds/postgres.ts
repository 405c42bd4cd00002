import pg from 'pg';
import { z } from 'zod';
import { secret } from '../../core/config/secret.ts';
import { defineKind, urlTarget } from '../define.ts';
import { abortable } from './abort.ts';
import { stopwatch } from './timing.ts';

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
    const client = new pg.Client({ connectionString: config.url.reveal(), application_name: `vigil-probe ${context.probe}` });
    client.on('error', () => {});
    const release = () => void client.end().catch(() => {});
    const orAbort = abortable(context.signal, release);
    const clock = stopwatch();
    try {
      await orAbort(client.connect());
      clock.lap('connect');
      const result = await orAbort(client.query(config.query));
      clock.lap('query');
      const timings = clock.laps();
      const rows = result.rowCount ?? result.rows.length;
      if (rows < config.minRows) return { success: false, failure: 'assertion', reason: `the query returned ${rows} row(s), expected at least ${config.minRows}`, timings };
      return { success: true, timings, details: { rows } };
    } finally {
      release();
    }
  },
});
