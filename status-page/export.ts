import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Site } from './site.ts';

/**
 * The file a static server (nginx, an object store) serves for a request path: "/" → index.html, pages without an
 * extension → "<path>.html", "/history?page=2" → "history-2.html" (see the README for the nginx lines).
 */
export function fileOf(url: string): string {
  if (url === '/') return 'index.html';
  const page = /^\/history\?page=(\d+)$/.exec(url);
  if (page) return `history-${page[1]}.html`;
  const relative = url.slice(1);
  return path.extname(relative) ? relative : `${relative}.html`;
}

/** One file of the copy: what a request path answers, and its gzip twin for gzip_static. */
export interface ExportFile {
  url: string;
  body: Buffer;
  gzip?: Buffer;
}

/** The rendered site and its stylesheet as the files of a copy. */
export function exportFiles(site: Site, css: { url: string; body: Buffer }): ExportFile[] {
  return [...[...site].map(([url, resource]) => ({ url, body: resource.body, gzip: resource.gzip })), { url: css.url, body: css.body }];
}

/** Writes every file and its gzip twin; each is written aside and renamed over the old one, so readers never see half a file. */
export async function writeExport(dir: string, files: readonly ExportFile[]): Promise<number> {
  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  for (const { url, body, gzip } of files) {
    const target = path.join(dir, fileOf(url));
    await mkdir(path.dirname(target), { recursive: true });
    for (const [name, bytes] of [[target, body], ...(gzip ? [[`${target}.gz`, gzip] as const] : [])] as const) {
      await writeFile(`${name}${suffix}`, bytes);
      await rename(`${name}${suffix}`, name);
    }
  }
  return files.length;
}
