import { publishAlert } from '../../status-page/incidents.ts';
import type { Receiver, ReceiverContext } from './types.ts';

/**
 * Publishes alert incidents on the public status page with the page's own public wording (never the internal
 * summary): an opening notification opens a public incident on the components made of the rule or probe, UP moves
 * it to "monitoring" and the status page resolves it after its hold. Routing, silences and maintenance apply as for
 * any receiver: a muted incident is never published.
 */
export function createStatusPageReceiver(name: string, context: ReceiverContext): Receiver {
  return {
    name,
    events: ['warning', 'emergency', 'flapping', 'up'],
    async deliver({ event, incidents }) {
      for (const incident of incidents) await publishAlert(context.db, context.config, { event, incident }, context.clock.now());
      return undefined;
    },
  };
}
