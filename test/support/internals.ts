import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
// Every store, storage and data directory of the suite lives under the temporary directory; the code under the repository.
const INTERNAL_ROOTS = [os.tmpdir(), REPO_ROOT].map((root) => root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
const INTERNAL_PATH = new RegExp(`(?:${INTERNAL_ROOTS.join('|')})/[\\w.-]+`);

const leaks: string[] = [];
const pending = new Set<Promise<void>>();

/** Records `text` as a leak when it names a path on this machine; the test that produced it fails (see below). */
export function scanForInternals(where: string, text: string): void {
  const found = INTERNAL_PATH.exec(text);
  if (found) leaks.push(`${where} names ${found[0]}`);
}

const SCANNED_TYPES = /json|text|xml|javascript/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

// Every answer a test reads from a local server, except the admin API and console (admins get technical detail), is
// scanned: no page, JSON, feed or status answer of the suite may name a path of the machine Vigil runs on.
const fetchAsUsual = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const response = await fetchAsUsual(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  const type = response.headers.get('content-type') ?? '';
  if (LOOPBACK.has(url.hostname) && !url.pathname.startsWith('/admin') && SCANNED_TYPES.test(type) && response.body) {
    const where = `${init?.method ?? 'GET'} ${url.pathname}`;
    const scan = response.clone().text().then((text) => scanForInternals(where, text), () => {});
    pending.add(scan);
    void scan.finally(() => pending.delete(scan));
  }
  return response;
};

// A body still streaming when the test ends (a download it did not read to the end) is not waited for long.
const SCAN_WAIT_MS = 2000;

/** The leaks found so far, once every scan under way has finished (or SCAN_WAIT_MS has passed); they are then forgotten. */
export async function drainLeaks(): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(pending), new Promise((resolve) => (timer = setTimeout(resolve, SCAN_WAIT_MS)))]);
  clearTimeout(timer);
  return leaks.splice(0);
}

afterEach(async () => {
  const found = await drainLeaks();
  if (found.length > 0) throw new Error(`answers to end users named paths of this machine:\n${found.join('\n')}`);
});
