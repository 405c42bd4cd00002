import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findPackageJSON } from 'node:module';

function readRevision(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

// The nearest package.json: the repository's, or the installed package's (whose code sits under dist/).
const pkg = JSON.parse(readFileSync(findPackageJSON('..', import.meta.url)!, 'utf8')) as { version: string };

let revision: string | undefined;

/** The version, and the revision asked of git only when first read (a CLI command never needs it). */
export const BUILD = {
  version: pkg.version,
  get revision(): string {
    return (revision ??= process.env.VIGIL_REVISION ?? readRevision());
  },
};
