// What vigil.config.ts imports: `import { defineConfig, ... } from 'vigil'`.
export { defineConfig, type VigilConfig, type VigilConfigInput } from './config.ts';
export * from '../probes/kinds/index.ts';
export { assert } from '../probes/assertions.ts';
export { env } from '../core/config/env.ts';
export type { ProbeResult, ProbeState, ProbeStatus } from '../probes/types.ts';
export { bannerReceiver, emailReceiver, failureRateRule, metricRule, probeRule, queueRule, restartHook, route, scaleHook, slackReceiver, statusPageReceiver, timeToPublishRule, webhookReceiver } from '../alerts/define.ts';
export { component } from '../status-page/index.ts';
export { include, type Environment, type IncludeOptions } from '../probes/include.ts';
