import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runVigil } from '../support/cli.ts';

describe('the example deployment', () => {
  it('vigil.config.ts validates with no problem, through the installed command', async () => {
    const { code, output } = await runVigil(['validate', '--config', path.join(REPO_ROOT, 'vigil.config.ts')], { DATABASE_URL: '', SMTP_URL: '', SLACK_BOT_TOKEN: '' });
    expect(output).toMatch(/vigil\.config\.ts is valid: /);
    expect(code).toBe(0);
  });
});
