import { Gauge, type Registry } from 'prom-client';
import type { ComponentModel } from './model.ts';
import { COMPONENT_STATUSES } from './state.ts';

/** What the public page shows, for dashboards: each component's status (bounded by the configured components). */
export function statusPageMetrics(registry: Registry, shown: () => readonly ComponentModel[]): void {
  new Gauge({
    name: 'vigil_status_component_status',
    help: 'The status each component of the public status page shows: 1 for its current status, 0 for the others.',
    labelNames: ['component', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const component of shown()) for (const status of COMPONENT_STATUSES) this.set({ component: component.id, status }, component.status === status ? 1 : 0);
    },
  });
}
