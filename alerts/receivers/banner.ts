import { recordBannerNotice } from '../../status-page/notices.ts';
import { defineReceiver, recordingEachIncident } from './receiver.ts';

/**
 * Raises the site banner (`/embed/banner.js`, `/embed/banner.json`) for each routed incident, in the status page's
 * public wording (`banner.automatic` and `banner.automaticOutage`, naming the components made of the incident's rule
 * or probe), and ends it on UP, after which it stays for `statusPage.banner.holdTime`. Routing, silences, maintenance,
 * grouping and audit apply as for any receiver: a muted incident raises no banner.
 */
export const banner = defineReceiver({
  type: 'banner',
  constructorName: 'bannerReceiver',
  options: {},
  create: recordingEachIncident(recordBannerNotice),
});
