import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CliCommand } from '../core/cli/command.ts';

// `vigil init`: a monitoring repository of the user's own, with Vigil installed as a dependency.

const CONFIG = `import { defineConfig, include } from 'vigil';

// Your monitoring, as code. Check it with \`npx vigil validate\`, run every probe once with
// \`npx vigil probe test --all\`, and run Vigil with \`npx vigil start\`.
export default defineConfig({
  server: { port: 8080 },
  database: { dataDir: '.vigil/data' },
  processing: { storageDir: '.vigil/storage' },
  // Every probes/**/*.probe.ts file; a file that exports a function of the environment runs once per environment.
  probes: include('probes/**/*.probe.ts', {
    environments: [
      { name: 'production', baseUrl: 'https://www.example.com' },
      // { name: 'beta', baseUrl: 'https://beta.example.com' },
      // { name: 'staging', baseUrl: 'https://staging.example.com' },
    ],
  }),
});
`;

const SELF_PROBE = `import { http } from 'vigil';

// Vigil checking itself: a URL starting with / is this Vigil's own address.
export const vigilReady = http({ name: 'vigil-ready', url: '/readyz', schedule: '30s', expect: { status: 200 }, labels: { component: 'vigil' } });
`;

const SITE_PROBE = `import { http, type Environment } from 'vigil';

// Runs once per environment listed in vigil.config.ts; each copy is labelled environment=<name>.
export default (environment: Environment) =>
  http({
    name: \`homepage-\${environment.name}\`,
    url: environment.baseUrl,
    schedule: '1m',
    expect: { status: 200, maxLatency: '2s' },
    labels: { component: 'web', severity: 'critical' },
  });
`;

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'es2024',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      types: ['node'],
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      erasableSyntaxOnly: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
    },
    include: ['vigil.config.ts', 'probes/**/*.ts'],
  },
  null,
  2,
)}\n`;

export const initCommand: CliCommand = {
  name: 'init',
  summary: 'Start a monitoring repository here: vigil.config.ts, a probes/ folder with examples and a tsconfig.json (existing files are kept)',
  async run(_args, io) {
    const root = process.cwd();
    const files: Array<[string, string]> = [
      ['vigil.config.ts', CONFIG],
      ['probes/vigil.probe.ts', SELF_PROBE],
      ['probes/homepage.probe.ts', SITE_PROBE],
      ['tsconfig.json', TSCONFIG],
    ];
    for (const [name, content] of files) {
      const file = path.join(root, name);
      if (existsSync(file)) {
        io.out(`kept     ${name} (already there)`);
        continue;
      }
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
      io.out(`created  ${name}`);
    }
    // Probe files are ES modules; the data Vigil keeps locally is not source.
    const manifest = path.join(root, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
      if (pkg.type !== 'module') {
        writeFileSync(manifest, `${JSON.stringify({ ...pkg, type: 'module' }, null, 2)}\n`);
        io.out('set      "type": "module" in package.json');
      }
    } else {
      writeFileSync(manifest, `${JSON.stringify({ private: true, type: 'module' }, null, 2)}\n`);
      io.out('created  package.json');
    }
    const ignore = path.join(root, '.gitignore');
    const ignored = existsSync(ignore) ? readFileSync(ignore, 'utf8') : '';
    if (!ignored.split('\n').includes('.vigil/')) {
      writeFileSync(ignore, `${ignored}${ignored && !ignored.endsWith('\n') ? '\n' : ''}.vigil/\n`);
      io.out('added    .vigil/ to .gitignore');
    }
    io.out('');
    io.out('Next: edit the environments in vigil.config.ts, then run `npx vigil validate` and `npx vigil probe test --all`.');
    return 0;
  },
};
