import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config/index.ts';
import { loadConfig, parseConfig } from '../../app/config.ts';
import { REPO_ROOT, runVigil } from '../support/cli.ts';

// Config files live inside the repository so that `import ... from 'vigil'` resolves as it does for users.
const dir = path.join(REPO_ROOT, '.vigil', `config-test-${process.pid}`);
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `import { defineConfig } from 'vigil';\nexport default defineConfig(${body});\n`);
  return file;
}

describe('configuration', () => {
  it('loads the example vigil.config.ts', async () => {
    const config = await loadConfig(path.join(REPO_ROOT, 'vigil.config.ts'), {});
    expect(config.server.port).toBe(8080);
    expect(config.database.url).toBeUndefined();
  });

  it('names the file and the field of a wrong type', async () => {
    const file = writeConfig('wrong-type.ts', `{ server: { port: 'eighty' } } as never`);
    const error = await loadConfig(file, {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(file);
    expect((error as ConfigError).issues).toEqual([expect.stringMatching(/^server\.port: /)]);
  });

  it('names an unknown key, nested or at the top', async () => {
    const file = writeConfig('unknown-key.ts', `{ server: { prot: 80 }, databse: {} } as never`);
    const error = (await loadConfig(file, {}).catch((caught: unknown) => caught)) as ConfigError;
    expect(error.issues).toEqual(expect.arrayContaining(['server.prot: unknown key (check the spelling)', 'databse: unknown key (check the spelling)']));
  });

  it('lets environment variables override the file', () => {
    const config = parseConfig({ server: { port: 8080 } }, 'inline', { VIGIL_PORT: '9191', DATABASE_URL: 'postgres://u:pw@db:5432/vigil', VIGIL_STORAGE_DIR: '/srv/videos' });
    expect(config.server.port).toBe(9191);
    expect(config.database.url?.reveal()).toBe('postgres://u:pw@db:5432/vigil');
    expect(config.processing.storageDir).toBe('/srv/videos');
  });

  it('never prints secrets', () => {
    const config = parseConfig({}, 'inline', { SMTP_URL: 'smtp://alerts:s3cret-pass@mail:587', SLACK_BOT_TOKEN: 'xoxb-secret-token', VIGIL_ADMIN_TOKEN: 'admin-secret' });
    const printed = JSON.stringify(config) + String(config.smtp.url) + JSON.stringify({ token: config.slack.token });
    expect(printed).not.toMatch(/s3cret-pass|xoxb-secret-token|admin-secret/);
    expect(config.slack.token?.reveal()).toBe('xoxb-secret-token');
  });

  it('refuses a database.url that is written but evaluates to undefined or empty, naming the field', async () => {
    expect(() => parseConfig({ database: { url: undefined } })).toThrow(/database\.url: is written in the config but its value is undefined/);
    expect(() => parseConfig({ database: { url: '' } })).toThrow(/database\.url: /);
    const file = writeConfig('unset-url.ts', `{ database: { url: process.env.VIGIL_TEST_NEVER_SET_URL } }`);
    const error = (await loadConfig(file, {}).catch((caught: unknown) => caught)) as ConfigError;
    expect(error.issues).toEqual([expect.stringMatching(/^database\.url: is written in the config but its value is undefined/)]);
    // The environment variable still wins when it is set; a config without the field keeps the embedded store.
    expect((await loadConfig(file, { DATABASE_URL: 'postgres://db/vigil' })).database.url?.reveal()).toBe('postgres://db/vigil');
    expect(parseConfig({ database: { dataDir: '/tmp/x' } }).database.url).toBeUndefined();
  });

  it("env('NAME') gives the variable's value, or an optional fallback", async () => {
    process.env.VIGIL_TEST_ENV_HELPER_URL = 'postgres://from-env/vigil';
    try {
      const file = path.join(dir, 'with-env-set.ts');
      writeFileSync(file, `import { defineConfig, env } from 'vigil';\nexport default defineConfig({ database: { url: env('VIGIL_TEST_ENV_HELPER_URL') }, smtp: { from: env('VIGIL_TEST_UNSET_FROM', 'Ops <ops@example.com>') } });\n`);
      const config = await loadConfig(file, {});
      expect(config.database.url?.reveal()).toBe('postgres://from-env/vigil');
      expect(config.smtp.from).toBe('Ops <ops@example.com>');
    } finally {
      delete process.env.VIGIL_TEST_ENV_HELPER_URL;
    }
  });

  it('rejects a bad duration with the reason', () => {
    expect(() => parseConfig({ server: { shutdownTimeout: 'ten seconds' } })).toThrow(/server\.shutdownTimeout: "ten seconds" is not a duration/);
  });
});

describe('vigil CLI', () => {
  // Through the CLI, so the files are loaded by Node itself as in production (the test runner transforms imports its own way).
  it('reports an unset env(), a syntax error in the config or in a probe file it imports, and a runtime error with file:line:column and the line', async () => {
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const withEnv = path.join(dir, 'with-env.ts');
    writeFileSync(withEnv, `import { defineConfig, env } from 'vigil';\n\nexport default defineConfig({\n  database: { url: env('VIGIL_TEST_ENV_HELPER_URL') },\n});\n`);
    const syntax = path.join(dir, 'syntax.ts');
    writeFileSync(syntax, `import { defineConfig } from 'vigil';\nexport default defineConfig({\n  server: { port: 8080 port: 9 },\n});\n`);
    const probeFile = path.join(dir, 'broken-probes.ts');
    writeFileSync(probeFile, `import { http } from 'vigil';\n\nexport const probes = [\n  http({ name: 'home', url: 'http://127.0.0.1/', every: '30s' }),\n  http({ name: 'api' url: 'http://127.0.0.1/api' }),\n];\n`);
    const importsProbes = path.join(dir, 'imports-probes.ts');
    writeFileSync(importsProbes, `import { defineConfig } from 'vigil';\nimport { probes } from './broken-probes.ts';\nexport default defineConfig({ probes });\n`);
    const runtime = path.join(dir, 'runtime.ts');
    writeFileSync(runtime, `import { defineConfig } from 'vigil';\nexport default defineConfig({\n  server: { port: portFromSomewhere },\n});\n`);
    const validate = (file: string) => runVigil(['validate', '--config', file], { VIGIL_TEST_ENV_HELPER_URL: '' });
    const [envRun, syntaxRun, probeRun, runtimeRun] = await Promise.all([validate(withEnv), validate(syntax), validate(importsProbes), validate(runtime)]);
    for (const run of [envRun, syntaxRun, probeRun, runtimeRun]) expect(run.code).toBe(1);
    expect(envRun.output).toContain(`${withEnv}:4:20: environment variable VIGIL_TEST_ENV_HELPER_URL is not set`);
    expect(envRun.output).toContain(`database: { url: env('VIGIL_TEST_ENV_HELPER_URL') },`);
    expect(syntaxRun.output).toMatch(new RegExp(`${escape(syntax)}:3:24: Expected ',', got`));
    expect(syntaxRun.output).toMatch(/\n {8}server: \{ port: 8080 port: 9 \},\n {29}\^/);
    expect(probeRun.output).toMatch(new RegExp(`${escape(probeFile)}:5:22: `));
    expect(probeRun.output).toContain(`http({ name: 'api' url: 'http://127.0.0.1/api' }),`);
    expect(runtimeRun.output).toContain(`${runtime}:3:19: portFromSomewhere is not defined`);
  });

  it('validate exits 0 on a good config and non-zero naming file and field on a bad one', async () => {
    const good = await runVigil(['validate', '--config', writeConfig('good.ts', `{ server: { port: 9000 } }`)]);
    expect(good.code).toBe(0);
    expect(good.output).toContain('is valid');
    const badFile = writeConfig('bad.ts', `{ server: { port: -1 } }`);
    const bad = await runVigil(['validate', '--config', badFile]);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain(badFile);
    expect(bad.output).toContain('server.port');
  });

  it('answers unknown commands and flags with a clear error and exit 2', async () => {
    const unknownCommand = await runVigil(['frobnicate']);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.output).toContain('unknown command "frobnicate"');
    const unknownFlag = await runVigil(['migrate', '--colour']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.output).toMatch(/Unknown option '--colour'/);
    const badRole = await runVigil(['start', '--role', 'janitor', '--config', writeConfig('roles.ts', '{}')]);
    expect(badRole.code).toBe(2);
    expect(badRole.output).toContain('unknown role "janitor"');
  });

  it('prints help for the whole CLI and for a command', async () => {
    const help = await runVigil(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['start', 'worker', 'migrate', 'validate']) expect(help.output).toContain(`  ${command}`);
    const startHelp = await runVigil(['start', '--help']);
    expect(startHelp.output).toContain('Usage: vigil start');
    expect(startHelp.output).toContain('--role');
  });
});
