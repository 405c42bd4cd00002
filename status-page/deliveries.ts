// What subscribers are sent goes through one durable outbox: each message is a row keyed by what it is about (written
// once, in the transaction that decides it) and a pg-boss job that sends it, retried with backoff while the SMTP server
// or the webhook is away. A row sent is never sent again; a retry after a crash in doubt carries the same Message-ID
// or Idempotency-Key. Every `refresh` a scan hands out the maintenance emails that came due, each new public incident
// update (opened, updated, resolved) and the one-shot "back up" messages of resolved incidents.
import { fetch, type Response } from 'undici';
import { DeliveryError, httpDeliveryError, listMaintenances } from '../alerts/index.ts';
import { type Clock, DAY, HOUR, type TimerHandle } from '../core/clock.ts';
import type { Db, Queryable } from '../core/db/index.ts';
import { SIGNATURE_HEADER, signBody } from '../core/http/signature.ts';
import type { Component } from '../core/lifecycle/module.ts';
import { MailError, type Mailer } from '../core/mail.ts';
import { inTransaction, workEach, type Queue } from '../core/queue/index.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import type { StatusPageHostConfig } from './config.ts';
import type { ComponentDefinition } from './define.ts';
import { dueMaintenanceMail } from './maintenance-mail.ts';
import { brandingOf } from './model.ts';
import {
  claimIncidentUpdate,
  claimMaintenanceMail,
  deleteStaleRequests,
  endSubscriber,
  getMaintenanceDetails,
  getSettings,
  insertDelivery,
  maintenanceMailsSent,
  markDeliveryFailed,
  markDeliverySent,
  oneShotsOfResolvedIncidents,
  startDeliveryAttempt,
  subscribersOfComponents,
  unannouncedIncidentUpdates,
  type DeliveryMessage,
  type Subscriber,
} from './store.ts';
import { stringsOf } from './strings.ts';
import {
  backUpMessage,
  incidentMessage,
  incidentWebhookFacts,
  maintenanceMessage,
  maintenanceWebhookFacts,
  webhookMessage,
  type IncidentFacts,
  type MaintenanceFacts,
  type Recipient,
  type Sender,
} from './subscriber-messages.ts';
import type { SubscriptionSigner } from './subscriptions.ts';

export const DELIVERY_QUEUE = 'status-page.delivery';
/** With backoff from `subscriptions.retryDelay`, at most an hour apart: about a day of trying. */
const RETRY_LIMIT = 30;

export interface DeliveriesDeps {
  db: Db;
  queue: Queue;
  clock: Clock;
  logger: Logger;
  /** Closed when the component stops. */
  mailer: Mailer;
  config: StatusPageHostConfig;
  components: readonly ComponentDefinition[];
  signer: SubscriptionSigner;
  /** Read at use time: the public URL is known only once the server listens. */
  publicUrl: () => string;
}

const mailAddressOf = (from: string) => /<([^>]+)>/.exec(from)?.[1] ?? from.trim();

export type Deliveries = ReturnType<typeof createDeliveries>;

export function createDeliveries(deps: DeliveriesDeps) {
  const { db, queue, clock, logger, mailer, config, signer } = deps;
  const settings = config.statusPage;
  let timer: TimerHandle | undefined;
  let worker: string | undefined;
  let scanning: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  let lastCleanup = -Infinity;

  async function sender(q: Queryable = db): Promise<Sender> {
    const branding = brandingOf(settings.branding, await getSettings(q));
    return { strings: stringsOf(branding.strings), pageName: branding.name, pageUrl: deps.publicUrl().replace(/\/$/, ''), organizerEmail: mailAddressOf(config.smtp.from), installation: signer.installation };
  }

  /** Where a subscriber's emails go (a webhook's confirmations go to the address that asked for it), with its unsubscribe link. */
  const recipientOf = (from: Sender, subscriber: Pick<Subscriber, 'id' | 'channel' | 'address' | 'contact'>): Recipient => ({
    address: subscriber.channel === 'email' ? subscriber.address : subscriber.contact!,
    unsubscribeUrl: `${from.pageUrl}/subscribe/unsubscribe?token=${signer.unsubscribeToken(subscriber.id)}`,
  });

  /** Records a message once per key, with the job that sends it; both commit with `q`'s transaction or neither does. */
  async function enqueue(q: Queryable, delivery: { key: string; subscriberId: number; message: DeliveryMessage }): Promise<void> {
    const id = await insertDelivery(q, { ...delivery, now: clock.date() });
    if (id !== undefined) await queue.send(DELIVERY_QUEUE, { deliveryId: id }, inTransaction(q));
  }

  async function post(subscriberId: number, key: string, url: string, body: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key, [SIGNATURE_HEADER]: signBody(signer.webhookSecret(subscriberId), clock.now(), body) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new DeliveryError(`webhook unreachable: ${(error as Error).message}`, { temporary: true, inDoubt: true });
    }
    await response.body?.cancel();
    if (!response.ok) throw httpDeliveryError('webhook', response.status, response.headers.get('retry-after'));
  }

  /** Sends one recorded message; a temporary failure throws so that pg-boss tries again later. */
  async function deliver(deliveryId: number): Promise<void> {
    const delivery = await startDeliveryAttempt(db, deliveryId);
    if (!delivery) return;
    const { message } = delivery;
    try {
      if (message.channel === 'email') {
        const { channel: _channel, ...mail } = message;
        await mailer.send(mail);
      } else {
        await post(delivery.subscriberId, delivery.key, message.url, message.body);
      }
      await markDeliverySent(db, delivery.id, clock.date());
    } catch (error) {
      const temporary = error instanceof MailError || error instanceof DeliveryError ? error.temporary : true;
      const again = temporary && delivery.attempts <= RETRY_LIMIT;
      await markDeliveryFailed(db, delivery.id, (error as Error).message, { drop: !again, now: clock.date() });
      if (again) throw error;
      logger.warn({ err: error, delivery: delivery.key }, 'message to a subscriber could not be delivered; dropped');
    }
  }

  const facts = (window: { id: number; title: string; startsAt: number; endsAt: number }, detail: { body: string; components: string[]; timeZone: string; sequence: number }): MaintenanceFacts => ({
    id: window.id,
    title: window.title,
    body: detail.body,
    components: detail.components.map((id) => ({ id, name: deps.components.find((component) => component.id === id)?.name ?? id })),
    startsAt: window.startsAt,
    endsAt: window.endsAt,
    timeZone: detail.timeZone,
    sequence: detail.sequence,
  });

  /** Hands each maintenance's due emails to every subscriber of its components, each event once. */
  async function announceMaintenances(now: number): Promise<void> {
    const windows = await listMaintenances(db, { from: now - DAY, to: now + 365 * DAY });
    const details = await getMaintenanceDetails(db, windows.map((window) => window.id));
    const sentSoFar = await maintenanceMailsSent(db, [...details.keys()]);
    let from: Sender | undefined;
    for (const window of windows) {
      const detail = details.get(window.id);
      if (!detail) continue;
      const sent = sentSoFar.get(window.id) ?? new Map<string, number>();
      for (;;) {
        const due = dueMaintenanceMail({ startsAt: window.startsAt, endsAt: window.endsAt, cancelledAt: detail.cancelledAt, sequence: detail.sequence, sent }, settings.maintenanceEmails.reminders, now);
        if (!due) break;
        const page = (from ??= await sender());
        const about = facts(window, detail);
        await db.transaction(async (q) => {
          if (!(await claimMaintenanceMail(q, window.id, due.event, new Date(now)))) return;
          for (const subscriber of await subscribersOfComponents(q, detail.components)) {
            const key = `maintenance:${window.id}:${due.event}:${subscriber.id}`;
            const message =
              subscriber.channel === 'email'
                ? maintenanceMessage(page, recipientOf(page, subscriber), key, due.kind, about, now)
                : webhookMessage(subscriber.address, key, `maintenance.${due.kind}`, page, maintenanceWebhookFacts(about));
            await enqueue(q, { key, subscriberId: subscriber.id, message });
          }
        });
        sent.set(due.event, now);
      }
    }
  }

  /**
   * Hands each new public update of an incident (its opening, every update, its resolution) to the subscribers of the
   * components it affects (or of every component), each update once: claiming it commits with its messages.
   */
  async function announceIncidentUpdates(now: number): Promise<void> {
    const pending = await unannouncedIncidentUpdates(db);
    if (pending.length === 0) return;
    const from = await sender();
    const nameOf = (id: string) => deps.components.find((component) => component.id === id)?.name ?? id;
    for (const { update, incident } of pending) {
      const componentIds = [...new Set([...Object.keys(incident.components), ...update.affected.map((affected) => affected.code)])];
      const about: IncidentFacts = {
        id: incident.id,
        name: incident.name,
        impact: incident.impact,
        components: componentIds.map((id) => ({ id, name: nameOf(id) })),
        update: { id: update.id, status: update.status, body: update.body, createdAt: update.createdAt },
      };
      const event = update.status === 'resolved' || update.status === 'postmortem' ? 'incident.resolved' : incident.updates.at(-1)?.id === update.id ? 'incident.opened' : 'incident.updated';
      await db.transaction(async (q) => {
        if (!(await claimIncidentUpdate(q, update.id, new Date(now)))) return;
        for (const subscriber of await subscribersOfComponents(q, componentIds)) {
          const key = `incident:${incident.id}:${update.id}:${subscriber.id}`;
          const message =
            subscriber.channel === 'email'
              ? incidentMessage(from, recipientOf(from, subscriber), key, about)
              : webhookMessage(subscriber.address, key, event, from, incidentWebhookFacts(about, from.pageUrl));
          await enqueue(q, { key, subscriberId: subscriber.id, message });
        }
      });
    }
  }

  /**
   * Ends the one-shot subscriptions of resolved incidents, telling the confirmed ones (once: ending it is the claim),
   * unless the same address follows the incident's components and so gets the resolving update anyway.
   */
  async function tellBackUp(now: number): Promise<void> {
    const ended = await oneShotsOfResolvedIncidents(db);
    if (ended.length === 0) return;
    const from = await sender();
    for (const subscriber of ended) {
      const confirmed = subscriber.confirmedAt !== null;
      await db.transaction(async (q) => {
        if (!(await endSubscriber(q, subscriber.id, confirmed ? 'notified' : 'unconfirmed', new Date(now))) || !confirmed || subscriber.toldByComponents) return;
        const key = `back-up:${subscriber.incidentId}:${subscriber.id}`;
        const incident = { id: subscriber.incidentId!, name: subscriber.incidentName };
        const message =
          subscriber.channel === 'email'
            ? backUpMessage(from, recipientOf(from, subscriber), key, incident)
            : webhookMessage(subscriber.address, key, 'incident.resolved', from, { incident: { ...incident, url: `${from.pageUrl}/incidents/${incident.id}` } });
        await enqueue(q, { key, subscriberId: subscriber.id, message });
      });
    }
  }

  async function scanOnce(): Promise<void> {
    const now = clock.now();
    await announceMaintenances(now);
    await announceIncidentUpdates(now);
    await tellBackUp(now);
    // Requests are kept a day past their expiry, so an hourly pass is soon enough, and spares a scan a statement.
    if (now - lastCleanup >= HOUR) {
      await deleteStaleRequests(db, new Date(now));
      lastCleanup = now;
    }
  }

  const runScan = () =>
    (scanning = scanOnce()
      .catch((error: unknown) => logger.error({ err: error }, 'subscriber messages scan failed; the next one tries again'))
      .finally(() => (scanning = undefined)));

  /**
   * One scan at a time; a call during one runs one more after it (shared by every call meanwhile), so it sees every
   * change made before it — an incident update written while a scan was reading goes out now, not at the next interval.
   */
  function scan(): Promise<void> {
    if (queued) return queued;
    if (!scanning) return runScan();
    queued = scanning.then(() => {
      queued = undefined;
      return runScan();
    });
    return queued;
  }

  const component: Component & { start(): Promise<void> } = {
    name: 'status-page-deliveries',
    async start() {
      // A send cut by a crash is handed on once its claim's heartbeat lapses (pg-boss beats every few seconds while the
      // process lives): within about 20 s with the supervisor's pass, not at the two-minute expiry, a ceiling far above an
      // SMTP exchange.
      const policy = { retryLimit: RETRY_LIMIT, retryDelay: Math.max(1, Math.round(settings.subscriptions.retryDelay / 1000)), retryBackoff: true, retryDelayMax: 3600, heartbeatSeconds: 10, expireInSeconds: 120, notify: true };
      await queue.createQueue(DELIVERY_QUEUE, policy);
      await queue.updateQueue(DELIVERY_QUEUE, policy);
      // pg-boss looks a queue up through its own connection the first time it sends to it; inside our transaction on
      // PGlite's single connection that would wait forever, so the lookup is made here first.
      await queue.getJobById(DELIVERY_QUEUE, '00000000-0000-0000-0000-000000000000');
      // A job sent wakes the worker by NOTIFY on commit, and a busy worker fetches again once done (workEach); the poll
      // is the backstop for a NOTIFY lost with a connection and for the retries pg-boss schedules after a failure.
      [worker] = await workEach<{ deliveryId: number }>(queue, DELIVERY_QUEUE, { pollingIntervalSeconds: 10, notifyPollingIntervalSeconds: 10 }, 1, async (job) => deliver(job.data.deliveryId));
      timer = clock.setInterval(() => void scan(), settings.refresh);
    },
    async stop() {
      timer?.cancel();
      await queued;
      await scanning;
      if (worker) await queue.offWork(DELIVERY_QUEUE, { id: worker, wait: true }).catch(() => {});
      mailer.close();
    },
  };
  return Object.assign(component, { enqueue, sender, recipientOf, scan });
}
