// What vigil.config.ts calls to declare alerting: typed shorthands for the alerts section's entries.
import type { z } from 'zod';
import type { receiverSchema, routeSchema, ruleSchema } from './config.ts';

type RuleInput = z.input<typeof ruleSchema>;
type ReceiverInput = z.input<typeof receiverSchema>;
type Without<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type RuleOf<K extends RuleInput['kind']> = Without<Extract<RuleInput, { kind: K }>, 'kind'>;
type ReceiverOf<K extends ReceiverInput['type']> = Without<Extract<ReceiverInput, { type: K }>, 'type'>;

export const probeRule = (rule: RuleOf<'probe'>): RuleInput => ({ kind: 'probe', ...rule });
export const failureRateRule = (rule: RuleOf<'failure-rate'>): RuleInput => ({ kind: 'failure-rate', ...rule });
export const queueRule = (rule: RuleOf<'queue'>): RuleInput => ({ kind: 'queue', ...rule });
export const metricRule = (rule: RuleOf<'metric'>): RuleInput => ({ kind: 'metric', ...rule });

export const emailReceiver = (receiver: ReceiverOf<'email'>): ReceiverInput => ({ type: 'email', ...receiver });
export const slackReceiver = (receiver: ReceiverOf<'slack'>): ReceiverInput => ({ type: 'slack', ...receiver });
export const webhookReceiver = (receiver: ReceiverOf<'webhook'>): ReceiverInput => ({ type: 'webhook', ...receiver });
export const restartHook = (receiver: ReceiverOf<'restart'>): ReceiverInput => ({ type: 'restart', ...receiver });
export const scaleHook = (receiver: ReceiverOf<'scale'>): ReceiverInput => ({ type: 'scale', ...receiver });
export const statusPageReceiver = (): ReceiverInput => ({ type: 'statusPage' });

export const route = (value: z.input<typeof routeSchema>) => value;
