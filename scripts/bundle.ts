// `npm run prepare` (which `npm ci` runs) and `npm run build`: bundles Vigil's code and the packages it always loads
// into `.build/` (gitignored), which `app/bin.js` runs while no source file it was built from has changed since.
// Why: Node keeps the source text of every module it loads, and most of Vigil's and its packages' files hold a
// character outside Latin-1 (a dash or an arrow in a comment), which makes V8 store the whole file at two bytes a
// character. One file without comments, in ASCII, with the unused parts of its packages left out, keeps the V8 heap of
// an idle `vigil start` about 9 MiB smaller and its RSS 14-18 MiB lower on either store (bench/startup.ts prints the
// breakdown). The code is not minified: names and lines stay as written, so a stack trace still reads (removing the
// whitespace too would save about 2 MiB more).
// Usage: node scripts/bundle.ts [--package]. With --package (scripts/package.ts), into `dist/.build/` beside the
// compiled files, which hold the templates and assets the modules find and never change once installed.
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'rolldown';

const forPackage = parseArgs({ options: { package: { type: 'boolean', default: false } } }).values.package;
const root = path.resolve(import.meta.dirname, '..');
const outDir = path.join(root, forPackage ? 'dist/.build' : '.build');

// Left to Node to load from node_modules, as without the bundle: packages a feature loads when first used (tracing,
// browser probes, Slack, mail, queues' clients, tus uploads, dashboards, the API description, request schemas), so that
// a start loads none of them (test/core/footprint.test.ts), and packages that find their own files at run time (the
// embedded store's WebAssembly, the ffmpeg binaries).
const EXTERNAL = [
  '@opentelemetry/sdk-node', '@opentelemetry/sdk-trace', 'playwright-core', '@slack/web-api', 'nodemailer', 'ioredis', 'amqplib', '@tus/server', '@tus/file-store',
  '@grafana/grafana-foundation-sdk', '@fastify/swagger', '@fastify/ajv-compiler',
  '@electric-sql/pglite', '@ffmpeg-installer/ffmpeg', '@ffprobe-installer/ffprobe', 'ffmpeg-static',
];
const isExternal = (id: string) => EXTERNAL.some((name) => id === name || id.startsWith(`${name}/`));
const isOwnSource = (id: string) => id.startsWith(root + path.sep) && !id.includes(`${path.sep}node_modules${path.sep}`);

/** A module of Vigil's own finds its templates, assets and neighbours by `import.meta.url` and `import.meta.dirname`;
 * in the bundle those would name `.build/`, so each is rewritten to the module's own place, relative to the bundle so
 * that the tree may move. `import.meta.filename` stays the running file: it tells a stack frame of the bundle. */
const ownLocations: Plugin = {
  name: 'vigil-own-locations',
  transform(code, id) {
    if (!isOwnSource(id)) return null;
    const relative = path.relative(path.join(root, '.build'), id).split(path.sep).join('/');
    const file = forPackage ? relative.replace(/\.ts$/, '.js') : relative;
    const dir = path.posix.dirname(file);
    return code
      .replaceAll('import.meta.url', `new URL(${JSON.stringify(file)}, import.meta.url).href`)
      .replaceAll('import.meta.dirname', `(import.meta.dirname + ${JSON.stringify(`/${dir}`)})`);
  },
};

const output = await build({
  input: { main: path.join(root, 'app/main.ts'), index: path.join(root, 'app/index.ts') },
  platform: 'node',
  external: isExternal,
  plugins: [ownLocations],
  logLevel: 'warn',
  output: { dir: outDir, format: 'esm', cleanDir: true, comments: false, charset: 'ascii', chunkFileNames: '[name]-[hash].js' },
});

// What app/bin.js compares before it runs the bundle: every file of Vigil's built into it, and the lock file (an
// `npm ci` of other versions builds again, but an `npm install` by hand may not). Nothing for the package.
const sources = new Set<string>(forPackage ? [] : [path.join(root, 'package-lock.json')]);
for (const chunk of forPackage ? [] : output.output) {
  if (chunk.type !== 'chunk') continue;
  for (const id of chunk.moduleIds) if (isOwnSource(id)) sources.add(id);
}
const manifest = [...sources].sort().map((file) => {
  const stat = statSync(file);
  return { file: path.relative(root, file), size: stat.size, mtimeMs: stat.mtimeMs };
});
writeFileSync(path.join(outDir, 'sources.json'), `${JSON.stringify(manifest)}\n`);
console.log(`vigil: bundled ${manifest.length} source files into ${path.relative(root, outDir)}/`);
