// What vigil.config.ts calls to declare alerting: one typed constructor per rule kind and receiver (derived from the
// registries) and `route`, each recording its file:line for config errors.
import type { z } from 'zod';
import type { routeSchema } from './config.ts';
import { constructorsOf, located } from './construct.ts';
import { RECEIVERS } from './receivers/index.ts';
import { RULE_KINDS } from './rules/index.ts';

export const { probeRule, failureRateRule, queueRule, metricRule, timeToPublishRule } = constructorsOf('kind', RULE_KINDS);
export const { emailReceiver, slackReceiver, webhookReceiver, restartHook, scaleHook, statusPageReceiver, bannerReceiver } = constructorsOf('type', RECEIVERS);

export const route = (value: z.input<typeof routeSchema>) => located({ ...value }, route);
