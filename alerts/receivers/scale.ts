import { createHookReceiver, hookOptions } from '../hooks.ts';
import { defineReceiver } from './receiver.ts';

/** "Increase resources": runs the service's scale action for a queue-load incident; the action's own success is the verdict. */
export const scale = defineReceiver({
  type: 'scale',
  constructorName: 'scaleHook',
  options: hookOptions,
  create: (name, settings, context) => createHookReceiver(name, settings, context, () => Promise.resolve({ success: true })),
});
