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

  it('rejects a bad duration with the reason', () => {
    expect(() => parseConfig({ server: { shutdownTimeout: 'ten seconds' } })).toThrow(/server\.shutdownTimeout: "ten seconds" is not a duration/);
  });
});

describe('vigil CLI', () => {
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
