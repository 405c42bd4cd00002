import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PGliteLike } from 'pg-boss';
import { acquireDataDirLock } from './lock.ts';
import type { Db, Queryable, Row } from './types.ts';
import { DependencyUnavailableError, rethrowAsUnavailable } from '../unavailable.ts';
import { withTimeout } from './timeout.ts';

export interface EmbeddedDb extends Db {
  readonly kind: 'pglite';
  /** The handle pg-boss runs on; it follows the engine across reopenings. */
  readonly bossAdapter: PGliteLike;
  /** The PGlite instance in use now (replaced when the engine is reopened). */
  readonly engine: PGlite;
  readonly directory: string;
}

/** Opens (creating if needed) the embedded database in `dataDir`, holding the directory's lock until close. A new one is
 * unpacked from the first initdb template found in `templateDirs`. */
export async function openEmbeddedDb(dataDir: string, templateDirs = TEMPLATE_DIRS): Promise<EmbeddedDb> {
  const root = path.resolve(dataDir);
  const pgDir = path.join(root, 'pg');
  const release = await acquireDataDirLock(root);
  let engine: PGlite;
  try {
    engine = await openOrCreate(root, pgDir, templateDirs);
  } catch (error) {
    await release();
    throw new Error(`Could not open the embedded database in ${pgDir}: ${(error as Error).message}`, { cause: error });
  }
  let reopening: Promise<PGlite> | undefined;
  let closing = false;

  // If the engine was closed underneath us (crash, or the volume went away and came back), open it again
  // on the same directory, but never create a fresh, empty database in place of a missing one.
  const current = async (): Promise<PGlite> => {
    if (!engine.closed) return engine;
    if (closing) throw new Error('the embedded database is closed');
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
      throw new DependencyUnavailableError({ dependency: 'database', reason: 'unreachable', cause: 'data directory missing', detail: `the embedded database directory ${pgDir} is missing` });
    }
    reopening ??= openEngine(pgDir).finally(() => (reopening = undefined));
    engine = await reopening;
    return engine;
  };

  const unavailable = rethrowAsUnavailable('database');
  const query = async <R extends object = Row>(sql: string, params?: unknown[]): Promise<R[]> =>
    (await (await current()).query<R>(sql, params).catch(unavailable)).rows;

  return {
    kind: 'pglite',
    description: `embedded PGlite in ${pgDir}`,
    directory: pgDir,
    get engine() {
      return engine;
    },
    query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return (await current()).transaction((tx) =>
        fn({ query: async <R extends object = Row>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params).catch(unavailable)).rows }),
      );
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(query('select 1'), timeoutMs, 'the embedded database did not answer');
    },
    async listen(channel, onNotify) {
      const unlisten = await (await current()).listen(channel, onNotify);
      return { close: () => unlisten() };
    },
    async close() {
      closing = true;
      try {
        if (!engine.closed) await engine.close();
      } finally {
        await release();
      }
    },
    bossAdapter: {
      query: async (sql, params) => (await current()).query(sql, params),
      exec: async (sql) => (await current()).exec(sql),
      listen: async (channel, callback) => (await current()).listen(channel, callback),
    },
  };
}

// PostgreSQL sizes its buffer cache for a server (shared_buffers 128 MB), and PGlite touches all of it at start, so
// the cache alone was a third of the process's resident memory. An embedded store serves one process with a small
// working set, and pages it misses come from the operating system's file cache: 16 MB kept the start-up RSS about
// 130 MB lower, 8 MB the engine 8 MB lower again, and 2 MB (256 pages) the idle process 6-7 MB lower still (182 → 176
// MiB with the example configuration), for no CPU the benches could tell: per 1,000 stored probe runs at 100 and 400
// a second (bench/cost.ts), per video of a 200-video backlog (bench/processing.ts (b)). WAL buffers keep the 256 kB
// that 8 MB gave them (PostgreSQL sizes them at 1/32 of the cache): a batch of results is written in fewer pieces.
// PostgreSQL also sizes its shared memory (lock table, process slots, predicate locks) for 100 connections, and PGlite
// holds all of it resident, though the engine has one session: 4 connections keep the engine 4 MB lower. The lock table
// shrinks with them: one transaction can still lock about 800 tables with their indexes (1,500 no longer fit).
const ENGINE_OPTIONS = {
  startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=2MB', '-c', 'wal_buffers=256kB', '-c', 'max_connections=4', '-c', 'superuser_reserved_connections=0', '-c', 'reserved_connections=0'],
};

/** The engine serving the store in `pgDir`, with the files of PGlite's package that it never reads let go. */
async function openEngine(pgDir: string): Promise<PGlite> {
  const engine = await PGlite.create(pgDir, ENGINE_OPTIONS);
  releaseUnreadFiles(engine);
  return engine;
}

// PGlite unpacks PostgreSQL's share and lib directories into its in-memory file system from one 6 MB package, each file
// a view on it, and keeps the package referenced for the life of the engine. A running engine reads few of those files:
// initdb's inputs (the catalog's .bki and .sql sources) served only initdb, which ran in an engine of its own; the
// loadable modules besides PL/pgSQL convert encodings (client and server are both UTF-8), stem words for full-text
// search or stream replication, none of which the store does; ICU's data serves ICU collations, and the store's
// collation is libc's "C". Those go, each file left gets a copy of its own (time zones, abbreviations, PL/pgSQL,
// extension scripts: about 1.5 MB), and the package is detached, which frees it at once.
const UNREAD_AT_RUN_TIME = [/^\/pglite\/share\/postgresql\/[^/]+\.(?:bki|sql|txt)$/, /^\/pglite\/lib\/postgresql\/(?!plpgsql\.so$)/, /^\/pglite\/icu\//];
/** Where the package's files are, and the store's own directory among them (on disk, left alone). */
const PACKAGE_ROOTS = ['/pglite', '/home'];
const STORE_DIR = '/pglite/data';

interface EngineFileSystem {
  readdir(path: string): string[];
  stat(path: string): { mode: number };
  isDir(mode: number): boolean;
  unlink(path: string): void;
  lookupPath(path: string): { node: { contents?: unknown; usedBytes?: number } };
}

/** Removes the unread files, copies the rest and detaches the package; a PGlite laid out otherwise is left as it is. */
function releaseUnreadFiles(engine: PGlite): void {
  const fs = (engine as unknown as { mod?: { FS?: EngineFileSystem } }).mod?.FS;
  if (!fs) return;
  const packages = new Set<ArrayBuffer>();
  const visit = (dir: string) => {
    for (const name of fs.readdir(dir)) {
      const file = `${dir}/${name}`;
      if (name === '.' || name === '..' || file === STORE_DIR) continue;
      if (fs.isDir(fs.stat(file).mode)) {
        visit(file);
      } else if (UNREAD_AT_RUN_TIME.some((pattern) => pattern.test(file))) {
        fs.unlink(file);
      } else {
        const node = fs.lookupPath(file).node;
        const { contents, usedBytes } = node;
        if (!(contents instanceof Uint8Array) || typeof usedBytes !== 'number' || !(contents.buffer instanceof ArrayBuffer)) continue;
        if (contents.buffer.byteLength === contents.byteLength) continue;
        packages.add(contents.buffer);
        node.contents = contents.slice(0, usedBytes);
      }
    }
  };
  try {
    for (const root of PACKAGE_ROOTS) visit(root);
    for (const buffer of packages) buffer.transfer(0);
  } catch {
    // Another layout (another PGlite version): what was not done yet stays as it was.
  }
}

const TEMPLATE_NAME = `pglite-${pgliteVersion()}-initdb.tar.gz`;
/** Where installing Vigil leaves the template (`npm run prepare`, which `npm ci` runs): beside the code, in the
 * repository or the package. */
export const INSTALLED_TEMPLATE = path.join(fileURLToPath(new URL('../../.pglite/', import.meta.url)), TEMPLATE_NAME);
const TEMPLATE_DIRS = [path.dirname(INSTALLED_TEMPLATE), path.join(os.tmpdir(), 'vigil')];

function pgliteVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite'))); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version: string };
    if (name === '@electric-sql/pglite') return version;
  }
  throw new Error('cannot find the installed @electric-sql/pglite version');
}

/**
 * A new store is made in a temporary directory beside `pg` and renamed into place only once complete, so a start killed
 * part-way leaves either no store or a whole one. A `pg` without PG_VERSION can only be such a leftover of an older
 * version (initdb never finished, so it holds no data): it is rebuilt.
 */
async function openOrCreate(root: string, pgDir: string, templateDirs: string[]): Promise<PGlite> {
  for (const entry of readdirSync(root)) {
    if (entry.startsWith(PARTIAL_PREFIX)) rmSync(path.join(root, entry), { recursive: true, force: true, maxRetries: 5 });
  }
  if (existsSync(path.join(pgDir, 'PG_VERSION'))) return openEngine(pgDir);
  rmSync(pgDir, { recursive: true, force: true });
  const partial = path.join(root, `${PARTIAL_PREFIX}${process.pid}-${Date.now()}`);
  await createInto(partial, root, templateDirs);
  renameSync(partial, pgDir);
  return openEngine(pgDir);
}

const PARTIAL_PREFIX = 'pg.partial-';

// initdb is most of a new embedded database's start-up (about 3 s here) and needs two more WebAssembly engines of about
// 450 MB in all that PGlite does not give back once closed: done in the serving process, a first start peaked at 540 MB
// (730-780 MB before --liftoff-only) and kept 60 MB more idle. A new store is unpacked instead, with tar in about 1 s,
// from a pristine copy of initdb's output kept per PGlite version: the one installing Vigil made, else one in the
// system's temporary directory. Where there is none, initdb runs in a short-lived child process that leaves that copy
// in the first of those places it can write, else beside the data directory (a read-only image and root file system),
// removed once unpacked.
async function createInto(dir: string, root: string, templateDirs: string[]): Promise<void> {
  const templates = templateDirs.map((templateDir) => path.join(templateDir, TEMPLATE_NAME));
  for (const template of templates) {
    if (existsSync(template) && (await unpack(template, dir))) return;
    rmSync(dir, { recursive: true, force: true });
  }
  const besideData = path.join(root, TEMPLATE_NAME);
  const template = await makeTemplate([...templates, besideData]);
  const unpacked = await unpack(template, dir);
  if (template === besideData) rmSync(template, { force: true });
  if (!unpacked) throw new Error(`could not unpack the new database from ${template}`);
}

async function unpack(template: string, dir: string): Promise<boolean> {
  mkdirSync(dir, { recursive: true });
  const unpacked = await new Promise<boolean>((resolve) => {
    // Fed through a pipe, so a tar left behind by a killed start reads end-of-file and stops at once.
    const tar = spawn('tar', ['-xzf', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'ignore'] });
    tar.once('error', () => resolve(false));
    tar.once('exit', (code) => resolve(code === 0));
    tar.stdin.on('error', () => {});
    createReadStream(template).on('error', () => tar.kill()).pipe(tar.stdin);
  });
  return unpacked && existsSync(path.join(dir, 'PG_VERSION'));
}

/** Runs `writeTemplate` in a child Node process (on the baseline WebAssembly compiler, as app/bin.js explains) and
 * answers the path it wrote. */
async function makeTemplate(targets: string[]): Promise<string> {
  const script = 'const { writeTemplate } = await import(process.argv[1]); process.stdout.write(await writeTemplate(process.argv.slice(2)));';
  const child = spawn(process.execPath, ['--liftoff-only', '--input-type=module', '-e', script, import.meta.url, ...targets], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve));
  if (code !== 0 || !existsSync(stdout)) throw new Error(`initdb for the new database failed (exit ${code}): ${stderr.trim() || 'no output'}`);
  return stdout;
}

/** The child process's work: a new database, in memory, packed into the first of `targets` that can be written. */
export async function writeTemplate(targets: string[]): Promise<string> {
  const engine = await PGlite.create(ENGINE_OPTIONS);
  const dump = Buffer.from(await (await engine.dumpDataDir('gzip')).arrayBuffer());
  await engine.close();
  for (const [index, target] of targets.entries()) {
    try {
      mkdirSync(path.dirname(target), { recursive: true });
      const partial = `${target}.${process.pid}.partial`;
      writeFileSync(partial, dump);
      renameSync(partial, target);
      return target;
    } catch (error) {
      if (index === targets.length - 1) throw error;
    }
  }
  throw new Error('no place given for the template');
}
