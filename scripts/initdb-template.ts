// `npm run prepare` (which `npm ci` runs) and the package build: makes the embedded store's initdb template beside the
// code, so that no start, a container's first included, runs initdb (core/db/pglite.ts says why). Usage:
// node --liftoff-only scripts/initdb-template.ts [target file]. Without it, first starts make the template themselves.
import { existsSync } from 'node:fs';
import { INSTALLED_TEMPLATE, writeTemplate } from '../core/db/pglite.ts';

const target = process.argv[2] ?? INSTALLED_TEMPLATE;
if (!existsSync(target)) console.log(`initdb template written to ${await writeTemplate([target])}`);
