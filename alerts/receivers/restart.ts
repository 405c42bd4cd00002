import { createHookReceiver, hookOptions } from '../hooks.ts';
import { defineReceiver } from './receiver.ts';

/** Restarts the incident's service with its configured command or HTTP call; a fresh probe run judges the fix. */
export const restart = defineReceiver({
  type: 'restart',
  constructorName: 'restartHook',
  options: hookOptions,
  create: (name, settings, context) =>
    createHookReceiver(name, settings, context, (incident) => {
      const probe = incident.labels.probe;
      if (!probe) return Promise.resolve({ success: false, reason: 'the incident names no probe to check the restart with' });
      return context.verifyProbe(probe);
    }),
});
