// What vigil.config.ts imports: `import { defineConfig, ... } from 'vigil'`.
export { defineConfig } from './core/config/index.ts';
export type { VigilConfig, VigilConfigInput } from './core/config/index.ts';
export * from './probes/kinds/index.ts';
export type { ProbeResult, ProbeState, ProbeStatus } from './probes/types.ts';
export { emailReceiver, failureRateRule, metricRule, probeRule, queueRule, restartHook, route, scaleHook, slackReceiver, webhookReceiver } from './alerts/define.ts';
