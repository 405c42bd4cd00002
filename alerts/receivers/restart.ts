import type { HookSettings } from '../hooks.ts';
import { createHookReceiver } from '../hooks.ts';
import type { Receiver, ReceiverContext } from './types.ts';

/** Restarts the incident's service with its configured command or HTTP call; a fresh probe run judges the fix. */
export function createRestartReceiver(name: string, settings: HookSettings, context: ReceiverContext): Receiver {
  return createHookReceiver(name, settings, context, (incident) => {
    const probe = incident.labels.probe;
    if (!probe) return Promise.resolve({ success: false, reason: 'the incident names no probe to check the restart with' });
    return context.verifyProbe(probe);
  });
}
