import { recordAlertNotice } from '../../status-page/notices.ts';
import { defineReceiver, recordingEachIncident } from './receiver.ts';

/**
 * Publishes alert incidents on the public status page: each notification is handed to the status page, which opens a
 * public incident with its own public wording (never the internal summary) on the components made of the incident's
 * rule or probe, moves it to "monitoring" on UP and resolves it after its hold. Routing, silences and maintenance
 * apply as for any receiver: a muted incident is never published.
 */
export const statusPage = defineReceiver({
  type: 'statusPage',
  constructorName: 'statusPageReceiver',
  options: {},
  create: recordingEachIncident(recordAlertNotice),
});
