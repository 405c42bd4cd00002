// Every kind of receiver, listed once: the config union, the constructors and the exported names derive from this.
import { banner } from './banner.ts';
import { email } from './email.ts';
import { restart } from './restart.ts';
import { scale } from './scale.ts';
import { slack } from './slack.ts';
import { statusPage } from './status-page.ts';
import { webhook } from './webhook.ts';

export const RECEIVERS = [email, slack, webhook, restart, scale, statusPage, banner] as const;
