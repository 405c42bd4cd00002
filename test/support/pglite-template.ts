// Run as a script by the global setup (`node test/support/pglite-template.ts <dataDir>`): applies every migration and
// the queue's schema to a new embedded data directory, the way a first start does, and exits.
import { MODULES } from '../../app/modules.ts';
import { migrate, openEmbeddedDb } from '../../core/db/index.ts';
import { migrationsOf } from '../../core/lifecycle/module.ts';
import { startQueue } from '../../core/queue/index.ts';
import { createLogger } from '../../core/telemetry/logger.ts';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: node test/support/pglite-template.ts <dataDir>');
const db = await openEmbeddedDb(dataDir);
try {
  await migrate(db, migrationsOf(MODULES));
  const queue = await startQueue(db, createLogger({ level: 'silent' }));
  await queue.stop({ graceful: false, close: true, timeout: 1000 });
} finally {
  await db.close();
}
