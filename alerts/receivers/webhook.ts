import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import { secret } from '../../core/config/secret.ts';
import { postSigned } from '../../core/http/signature.ts';
import { subjectOf } from '../messages.ts';
import { DeliveryError, httpDeliveryError } from '../../core/outbox.ts';
import { ALL_EVENTS, defineReceiver } from './receiver.ts';

/** POSTs the JSON payload documented in the README, signed: `X-Vigil-Signature: t=<ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const webhook = defineReceiver({
  type: 'webhook',
  constructorName: 'webhookReceiver',
  options: { url: z.url(), secret: secret(), timeout: duration().default(10_000) },
  create: (name, settings, context) => ({
    name,
    events: ALL_EVENTS,
    async deliver({ key, event, incidents }) {
      const body = JSON.stringify({
        version: 1,
        key,
        event,
        title: subjectOf({ event, incidents, now: context.clock.now() }),
        incidents: incidents.map((incident) => ({
          id: incident.id,
          rule: incident.rule,
          state: incident.state,
          flapping: incident.flapping,
          summary: incident.summary,
          labels: incident.labels,
          startedAt: new Date(incident.startedAt).toISOString(),
          firedAt: incident.firedAt === null ? null : new Date(incident.firedAt).toISOString(),
          resolvedAt: incident.resolvedAt === null ? null : new Date(incident.resolvedAt).toISOString(),
        })),
      });
      let response: Awaited<ReturnType<typeof postSigned>>;
      try {
        response = await postSigned({ url: settings.url, secret: settings.secret.reveal(), timeout: settings.timeout }, { body, idempotencyKey: key, now: context.clock.now() });
      } catch (error) {
        // It may have arrived: the retry carries the same idempotency-key header for the far side to drop.
        throw new DeliveryError(`webhook ${name} unreachable: ${(error as Error).message}`, { temporary: true, inDoubt: true });
      }
      if (!response.ok) throw httpDeliveryError(`webhook ${name}`, response.status, response.retryAfter);
      return undefined;
    },
  }),
});
