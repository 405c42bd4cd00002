import type { DashboardSpec } from '../panels.ts';
import { alerts } from './alerts.ts';
import { overview } from './overview.ts';
import { probes } from './probes.ts';
import { processing } from './processing.ts';
import { vigil } from './vigil.ts';

/** Every dashboard Vigil ships, in the order Grafana's folder lists them. */
export const DASHBOARDS: readonly DashboardSpec[] = [overview, processing, probes, alerts, vigil];
