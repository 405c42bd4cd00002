import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function readRevision(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const BUILD = { version: pkg.version, revision: process.env.VIGIL_REVISION ?? readRevision() };
