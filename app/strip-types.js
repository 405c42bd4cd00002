// A config file written as an ES module (and any TypeScript it imports) has its types stripped by a short-lived Node
// child, not in the process that runs Vigil: Node's own stripper is a WebAssembly build of swc that, once loaded, stays
// for the life of the process, about 17 MiB of its resident memory (12 of them anonymous) for a file read once at
// start. Node skips it when its compile cache already holds the file, but that cache is cold after every edit of the
// config, every reboot that empties the temporary directory and every start of a new container. The child costs about
// 80 ms, on the first load of each version of a file only: its output is kept in a directory of the user's own.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// ES modules only: Node's CommonJS loader strips a `.ts` file's types itself, whatever source a hook hands it.
const JAVASCRIPT_FORMAT = { 'module-typescript': 'module' };
const STRIP = "process.stdout.write(require('node:module').stripTypeScriptTypes(require('node:fs').readFileSync(0, 'utf8')))";

/** A directory only this user can write (so no one else can plant code in it, nor a link to elsewhere), or undefined
 * where there is none. */
function privateCacheDir() {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const dir = path.join(os.tmpdir(), `vigil-stripped-types-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (error.code !== 'EEXIST') return undefined;
  }
  const stat = lstatSync(dir, { throwIfNoEntry: false });
  return stat?.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0 ? dir : undefined;
}

/** The JavaScript of a TypeScript source, from the cache or a child; undefined when the child cannot strip it. */
function stripped(source, cacheDir) {
  const cached = cacheDir && path.join(cacheDir, `${createHash('sha256').update(process.version).update(source).digest('hex')}.js`);
  if (cached) {
    try {
      return readFileSync(cached, 'utf8');
    } catch {
      // not stripped yet
    }
  }
  const child = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '-e', STRIP], { input: source, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0) return undefined;
  if (cached) {
    try {
      const partial = `${cached}.${process.pid}`;
      writeFileSync(partial, child.stdout);
      renameSync(partial, cached);
    } catch {
      // a cache that cannot be written costs the child again next time, nothing else
    }
  }
  return child.stdout;
}

/** Loads every TypeScript file the process imports from here on as JavaScript stripped out of process. */
export function stripTypesOutOfProcess() {
  const cacheDir = privateCacheDir();
  module.registerHooks({
    load(url, context, next) {
      const format = JAVASCRIPT_FORMAT[context.format];
      if (!format || !url.startsWith('file:')) return next(url, context);
      let source;
      try {
        source = stripped(readFileSync(fileURLToPath(url), 'utf8'), cacheDir);
      } catch {
        // unreadable: Node's own loader says why
      }
      // A file the child cannot strip (a syntax error, say) goes to Node's own loader too, whose error names the line.
      return source === undefined ? next(url, context) : { format, source, shortCircuit: true };
    },
  });
}
