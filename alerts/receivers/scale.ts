import type { HookSettings } from '../hooks.ts';
import { createHookReceiver } from '../hooks.ts';
import type { Receiver, ReceiverContext } from './types.ts';

/** "Increase resources": runs the service's scale action for a queue-load incident; the action's own success is the verdict. */
export function createScaleReceiver(name: string, settings: HookSettings, context: ReceiverContext): Receiver {
  return createHookReceiver(name, settings, context, () => Promise.resolve({ success: true }));
}
