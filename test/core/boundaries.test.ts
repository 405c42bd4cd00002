import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';

const CORE = path.join(REPO_ROOT, 'core');

/** Relative imports of `file` that resolve outside `allowedRoot`. */
function importsOutside(file: string, source: string, allowedRoot: string): string[] {
  const specifiers = [...source.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((match) => match[1] ?? match[2]!);
  return specifiers.filter((specifier) => specifier.startsWith('.') && !path.resolve(path.dirname(file), specifier).startsWith(`${allowedRoot}${path.sep}`));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|js)$/.test(entry.name) ? [full] : [];
  });
}

describe('module boundaries', () => {
  it.each([
    { case: 'a sibling inside core', source: "import { x } from '../db/index.ts';", outside: [] },
    { case: 'a package', source: "import { z } from 'zod';", outside: [] },
    { case: 'a product module', source: "import { probesModule } from '../../probes/index.ts';", outside: ['../../probes/index.ts'] },
    { case: 'a type from a product module', source: "import type { AlertsConfig } from '../../alerts/config.ts';", outside: ['../../alerts/config.ts'] },
    { case: 'a re-export', source: "export { MODULES } from '../../app/modules.ts';", outside: ['../../app/modules.ts'] },
    { case: 'a dynamic import', source: "const m = await import('../../processing/index.ts');", outside: ['../../processing/index.ts'] },
  ])('the check flags $case correctly', ({ source, outside }) => {
    expect(importsOutside(path.join(CORE, 'cli', 'run.ts'), source, CORE)).toEqual(outside);
  });

  it('no file under core/ imports a product module or the composition root', () => {
    const offenders = sourceFiles(CORE).flatMap((file) =>
      importsOutside(file, readFileSync(file, 'utf8'), CORE).map((specifier) => `${path.relative(REPO_ROOT, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });
});
