// /subscribe: plain forms that work without JavaScript, on the status page's layout, CSP and escaping. Every answer
// to a subscription request is the same whether or not the address was subscribed before; confirmation and
// unsubscribe links open a page whose button POSTs, so a mail scanner following links changes nothing. The
// List-Unsubscribe URL also takes RFC 8058's one-click POST.
import path from 'node:path';
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import { createPages } from '../core/http/pages.ts';
import type { HttpServer } from '../core/http/server.ts';
import { fillIn } from '../core/text.ts';
import type { StatusPageConfig } from './config.ts';
import type { Deliveries } from './deliveries.ts';
import type { StatusModel } from './model.ts';
import { pageHeadersOf, themeOf } from './site.ts';
import type { Strings } from './strings.ts';
import { confirmationMessage } from './subscriber-messages.ts';
import { confirmRequest, requestSubscription, unsubscribe, type SubscriptionSigner } from './subscriptions.ts';
import { layoutOf } from './views.ts';

const pages = createPages(path.join(import.meta.dirname, 'views'));

export interface SubscribePagesDeps {
  db: Db;
  clock: Clock;
  settings: StatusPageConfig;
  signer: SubscriptionSigner;
  deliveries: Deliveries;
  /** The model the site was last rendered from; undefined before the first render. */
  model: () => StatusModel | undefined;
  cssUrl: string;
}

interface PageView {
  mode: 'form' | 'backUp' | 'message' | 'button';
  heading: string;
  message?: string;
  problem?: string;
  secret?: string;
  email?: string;
  all?: boolean;
  components?: Array<{ id: string; name: string; checked: boolean }>;
  webhookUrl?: string;
  intro?: string;
  incidentId?: number;
  action?: string;
  token?: string;
  button?: string;
}

const EMAIL = /^[^\s@<>()[\]",;:\\]+@[^\s@<>()[\]",;:\\]+\.[^\s@<>()[\]",;:\\]+$/;
const OPEN = new Set(['investigating', 'identified', 'monitoring']);

const isHttpsUrl = (text: string) => {
  try {
    return new URL(text).protocol === 'https:';
  } catch {
    return false;
  }
};

export function registerSubscribePages(http: HttpServer, deps: SubscribePagesDeps): void {
  const { db, clock, settings, signer, deliveries } = deps;
  const confirmWithin = settings.subscriptions.confirmWithin;

  /** The preHandler answers 503 until the site has been rendered once, so the handlers always have a model. */
  const current = () => deps.model()!;

  function render(reply: FastifyReply, view: PageView, status = 200): FastifyReply {
    const model = current();
    const layout = layoutOf(model, `${model.branding.name}: ${view.heading}`, [deps.cssUrl, themeOf(model).url]);
    return reply
      .code(status)
      .headers({ ...pageHeadersOf(model), 'cache-control': 'no-store' })
      .type('text/html; charset=utf-8')
      .send(pages.render('subscribe', { message: '', problem: '', secret: '', email: '', all: true, components: [], webhookUrl: '', intro: '', ...layout, ...view }));
  }

  const stringsOf = () => current().strings;
  const openIncident = (id: number) => current().incidents.find((incident) => incident.id === id && OPEN.has(incident.status));
  const choices = (checked: readonly string[]) => current().components.map((component) => ({ id: component.id, name: component.name, checked: checked.includes(component.id) }));

  function formView(strings: Strings, fields: { email?: string; all?: boolean; checked?: string[]; webhookUrl?: string; problem?: string } = {}): PageView {
    return { mode: 'form', heading: strings['subscribe.title'], email: fields.email ?? '', all: fields.all ?? true, components: choices(fields.checked ?? []), webhookUrl: fields.webhookUrl ?? '', problem: fields.problem ?? '' };
  }

  function backUpView(strings: Strings, incident: { id: number; name: string }, fields: { email?: string; problem?: string } = {}): PageView {
    return { mode: 'backUp', heading: strings['subscribe.backUpTitle'], intro: fillIn(strings['subscribe.backUpIntro'], { incident: incident.name }), incidentId: incident.id, email: fields.email ?? '', problem: fields.problem ?? '' };
  }

  const message = (heading: string, text: string, extra: Partial<PageView> = {}): PageView => ({ mode: 'message', heading, message: text, ...extra });
  const tokenOf = (request: FastifyRequest) => (request.query as { token?: string }).token ?? (request.body as URLSearchParams).get('token') ?? '';

  http.register(async (scope) => {
    await scope.register(rateLimit, { max: settings.rateLimit, timeWindow: 60_000 });
    // Forms send urlencoded bodies; a one-click unsubscribe may come as multipart, and its token is in the URL anyway.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 16 * 1024 }, (request, body, done) => {
      done(null, new URLSearchParams(/^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '') ? (body as string) : ''));
    });
    scope.addHook('preHandler', async (request, reply) => {
      if (!deps.model()) return reply.code(503).header('retry-after', '5').send({ error: { code: 'UNAVAILABLE', message: 'The status page is starting; try again in a few seconds.' } });
      request.body ??= new URLSearchParams();
    });

    scope.get('/subscribe', (request, reply) => {
      const strings = stringsOf();
      const incidentId = Number((request.query as { incident?: string }).incident);
      if (!('incident' in (request.query as object))) return render(reply, formView(strings));
      const incident = Number.isInteger(incidentId) ? openIncident(incidentId) : undefined;
      if (!incident) return render(reply, { ...formView(strings), message: strings['subscribe.noIncident'] });
      return render(reply, backUpView(strings, incident));
    });

    scope.post('/subscribe', async (request, reply) => {
      const strings = stringsOf();
      const form = request.body as URLSearchParams;
      const email = (form.get('email') ?? '').trim();
      const validEmail = email.length <= 254 && EMAIL.test(email);
      let incident: { id: number; name: string } | undefined;
      let components: string[] | null = null;
      let webhookUrl: string | undefined;
      if (form.has('incident')) {
        incident = openIncident(Number(form.get('incident')));
        if (!incident) return render(reply, { ...formView(strings, { email }), message: strings['subscribe.noIncident'] });
        if (!validEmail) return render(reply, backUpView(strings, incident, { email, problem: strings['subscribe.invalidEmail'] }), 400);
      } else {
        const all = form.get('scope') !== 'some';
        const known = new Set(current().components.map((component) => component.id));
        const checked = form.getAll('component').filter((id) => known.has(id));
        webhookUrl = (form.get('webhook') ?? '').trim() || undefined;
        const fields = { email, all, checked, webhookUrl: webhookUrl ?? '' };
        if (!validEmail) return render(reply, formView(strings, { ...fields, problem: strings['subscribe.invalidEmail'] }), 400);
        if (!all && checked.length === 0) return render(reply, formView(strings, { ...fields, problem: strings['subscribe.invalidComponents'] }), 400);
        if (webhookUrl !== undefined && (webhookUrl.length > 2000 || !isHttpsUrl(webhookUrl))) return render(reply, formView(strings, { ...fields, problem: strings['subscribe.invalidWebhook'] }), 400);
        components = all ? null : checked;
      }
      const from = await deliveries.sender();
      const names = components?.map((id) => current().components.find((component) => component.id === id)?.name ?? id) ?? null;
      const { retryAfter } = await requestSubscription(
        { db, signer, limits: { ...settings.subscriptions, confirmWithin }, enqueue: deliveries.enqueue },
        { email, components, ...(webhookUrl ? { webhookUrl } : {}), ...(incident ? { incident } : {}) },
        request.ip,
        clock.now(),
        ({ subscriberId, token, key }) =>
          confirmationMessage(from, { address: email.toLowerCase(), unsubscribeUrl: deliveries.recipientOf(from, { id: subscriberId, channel: 'email', address: email.toLowerCase(), contact: null }).unsubscribeUrl }, key, {
            confirmUrl: `${from.pageUrl}/subscribe/confirm?token=${token}`,
            hours: Math.round(confirmWithin / 3_600_000),
            components: names,
            ...(incident ? { incident: incident.name } : {}),
          }),
      );
      if (retryAfter > 0) {
        reply.header('retry-after', String(retryAfter));
        return render(reply, message(strings['subscribe.title'], '', { problem: fillIn(strings['subscribe.tooMany'], { minutes: String(Math.ceil(retryAfter / 60)) }) }), 429);
      }
      return render(reply, message(incident ? strings['subscribe.backUpTitle'] : strings['subscribe.title'], strings['subscribe.checkInbox']));
    });

    scope.get('/subscribe/confirm', (request, reply) => {
      const strings = stringsOf();
      const token = tokenOf(request);
      if (signer.confirmationHash(token, clock.now()) === undefined) return render(reply, message(strings['subscribe.confirmTitle'], '', { problem: strings['subscribe.linkInvalid'] }), 400);
      return render(reply, { mode: 'button', heading: strings['subscribe.confirmTitle'], action: '/subscribe/confirm', token, button: strings['subscribe.confirmButton'] });
    });

    scope.post('/subscribe/confirm', async (request, reply) => {
      const strings = stringsOf();
      const subscriber = await confirmRequest(db, signer, tokenOf(request), clock.now());
      if (!subscriber) return render(reply, message(strings['subscribe.confirmTitle'], '', { problem: strings['subscribe.linkInvalid'] }), 400);
      const incident = subscriber.incidentId === null ? undefined : current().incidents.find((candidate) => candidate.id === subscriber.incidentId);
      const text = incident ? fillIn(strings['subscribe.confirmedBackUp'], { incident: incident.name }) : strings['subscribe.confirmed'];
      return render(reply, message(strings['subscribe.confirmTitle'], text, subscriber.channel === 'webhook' ? { secret: signer.webhookSecret(subscriber.id) } : {}));
    });

    scope.get('/subscribe/unsubscribe', (request, reply) => {
      const strings = stringsOf();
      const token = tokenOf(request);
      if (signer.subscriberOfUnsubscribeToken(token) === undefined) return render(reply, message(strings['subscribe.unsubscribeTitle'], '', { problem: strings['subscribe.linkInvalid'] }), 400);
      return render(reply, { mode: 'button', heading: strings['subscribe.unsubscribeTitle'], action: `/subscribe/unsubscribe?token=${encodeURIComponent(token)}`, token, button: strings['subscribe.unsubscribeButton'] });
    });

    scope.post('/subscribe/unsubscribe', async (request, reply) => {
      const strings = stringsOf();
      if (!(await unsubscribe(db, signer, tokenOf(request), clock.now()))) return render(reply, message(strings['subscribe.unsubscribeTitle'], '', { problem: strings['subscribe.linkInvalid'] }), 400);
      return render(reply, message(strings['subscribe.unsubscribeTitle'], strings['subscribe.unsubscribed']));
    });
  });
}
