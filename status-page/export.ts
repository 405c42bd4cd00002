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

/** Writes every resource and its gzip twin (for gzip_static); each file is written aside and renamed over the old one, so readers never see half a file. */
export async function writeExport(dir: string, site: Site, extra: Record<string, Buffer> = {}): Promise<number> {
  const files: Array<[string, Buffer, Buffer | undefined]> = [
    ...[...site].map(([url, resource]): [string, Buffer, Buffer | undefined] => [fileOf(url), resource.body, resource.gzip]),
    ...Object.entries(extra).map(([url, body]): [string, Buffer, Buffer | undefined] => [fileOf(url), body, undefined]),
  ];
  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  for (const [file, body, gzip] of files) {
    const target = path.join(dir, file);
    await mkdir(path.dirname(target), { recursive: true });
    for (const [name, bytes] of [[target, body], ...(gzip ? [[`${target}.gz`, gzip] as const] : [])] as const) {
      await writeFile(`${name}${suffix}`, bytes);
      await rename(`${name}${suffix}`, name);
    }
  }
  return files.length;
}
