import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { BUILD } from './build.ts';

export type { Registry } from 'prom-client';

/** The one registry /metrics serves: process metrics and vigil_build_info; modules add theirs to it. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: 'vigil_build_info',
    help: 'Always 1; labels name the running build.',
    labelNames: ['version', 'node_version', 'revision'],
    registers: [registry],
  });
  buildInfo.set({ version: BUILD.version, node_version: process.version, revision: BUILD.revision }, 1);
  return registry;
}
