// Run as a script by the global setup (`node test/support/store-template.ts <dataDir | postgres://…>`): applies every
// migration and the queue's schema to a new embedded data directory or an empty PostgreSQL database, the way a first
// start does, and exits.
import { parseConfig } from '../../app/config.ts';
import { MODULES } from '../../app/modules.ts';
import { migrate, openDb } from '../../core/db/index.ts';
import { migrationsOf } from '../../core/lifecycle/module.ts';
import { startQueue } from '../../core/queue/index.ts';
import { createLogger } from '../../core/telemetry/logger.ts';

const where = process.argv[2];
if (!where) throw new Error('usage: node test/support/store-template.ts <dataDir | postgres://…>');
const { database } = parseConfig({ database: where.startsWith('postgres') ? { url: where } : { dataDir: where } }, 'test store template');
const db = await openDb(database, 'vigil-test-template');
try {
  await migrate(db, migrationsOf(MODULES));
  const queue = await startQueue(db, createLogger({ level: 'silent' }));
  await queue.stop({ graceful: false, close: true, timeout: 1000 });
} finally {
  await db.close();
}
