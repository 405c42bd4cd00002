import { expect, it } from 'vitest';
import { DAY, HOUR } from '../../core/clock.ts';
import { migrate } from '../../core/db/index.ts';
import { statusPageMigrations } from '../../status-page/migrations.ts';
import {
  deleteSpentAlertRecords, deleteStaleRequests, endBannerAlert, ensureSubscriber, insertAlertNotice, insertSubscriptionRequest, listBannerAlerts, markAlertNoticePublished, raiseBannerAlert,
  unpublishedAlertNotices,
} from '../../status-page/store.ts';
import { describeEachBackend, databasePerTest } from '../support/backends.ts';

const NOW = Date.UTC(2026, 5, 1);

describeEachBackend('status page retention', (backend) => {
  const scratch = databasePerTest(backend, { empty: true });

  it('deletes banner alerts ended and alert notices published before the cut-off, and nothing still in use', async () => {
    const { db } = scratch;
    await migrate(db, statusPageMigrations);
    for (const id of [1, 2, 3]) await raiseBannerAlert(db, { alertIncidentId: id, rule: `rule-${id}`, labels: {}, at: new Date(NOW - 3 * DAY) });
    await endBannerAlert(db, 1, new Date(NOW - 2 * DAY));
    await endBannerAlert(db, 2, new Date(NOW - HOUR));
    for (const id of [1, 2]) await insertAlertNotice(db, { event: 'warning', incident: { id, rule: `rule-${id}`, fingerprint: `f${id}`, labels: {} }, at: NOW - 3 * DAY });
    const [old] = await unpublishedAlertNotices(db);
    await markAlertNoticePublished(db, old!.id, NOW - 2 * DAY);

    await deleteSpentAlertRecords(db, new Date(NOW - DAY));

    expect((await listBannerAlerts(db, new Date(0))).map((alert) => alert.alertIncidentId)).toEqual([2, 3]);
    const notices = await db.query<{ id: number }>('select alert_incident_id as id from status_alert_notices order by id');
    expect(notices.map((notice) => notice.id)).toEqual([2]);
  });

  it('deletes subscription requests a day past their expiry, and none sooner', async () => {
    const { db } = scratch;
    await migrate(db, statusPageMigrations);
    const subscriberId = await ensureSubscriber(db, { channel: 'email', address: 'a@example.com', contact: null, incidentId: null, now: new Date(NOW - 3 * DAY) });
    const expiries = { stale: NOW - DAY - HOUR, expired: NOW - HOUR, open: NOW + HOUR };
    for (const [tokenHash, expiresAt] of Object.entries(expiries)) {
      await insertSubscriptionRequest(db, { tokenHash, subscriberId, components: null, address: 'a@example.com', clientHash: 'c', now: new Date(NOW - 3 * DAY), expiresAt: new Date(expiresAt) });
    }

    await deleteStaleRequests(db, new Date(NOW));

    const left = await db.query<{ token: string }>('select token_hash as token from status_subscription_requests order by token_hash');
    expect(left.map((row) => row.token)).toEqual(['expired', 'open']);
  });
});
