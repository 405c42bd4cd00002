// The statusPage alert receiver's hand-over: it records each routed notification here, and the status page (which
// knows the components and the public wording) publishes them in order at its next refresh.
import type { Db } from '../core/db/index.ts';
import { endBannerAlert, insertAlertNotice, raiseBannerAlert, type AlertEvent } from './store.ts';

export interface AlertNotice {
  event: AlertEvent;
  incident: { id: number; rule: string; fingerprint: string; labels: Record<string, string> };
}

export async function recordAlertNotice(db: Db, notice: AlertNotice, now: number): Promise<void> {
  await insertAlertNotice(db, { event: notice.event, incident: { id: notice.incident.id, rule: notice.incident.rule, fingerprint: notice.incident.fingerprint, labels: notice.incident.labels }, at: now });
}

/** The banner receiver's hand-over: an opening notification raises the alert's banner, UP ends it (it stays for the banner's hold time). */
export async function recordBannerNotice(db: Db, notice: AlertNotice, now: number): Promise<void> {
  if (notice.event === 'up') await endBannerAlert(db, notice.incident.id, new Date(now));
  else await raiseBannerAlert(db, { alertIncidentId: notice.incident.id, rule: notice.incident.rule, labels: notice.incident.labels, at: new Date(now) });
}
