import type { ProbeKind } from '../define.ts';
import { amqpKind } from './amqp.ts';
import { browserKind } from './browser.ts';
import { dnsKind } from './dns.ts';
import { ffmpegPingKind } from './ffmpeg-ping.ts';
import { heartbeatKind } from './heartbeat.ts';
import { httpKind } from './http.ts';
import { postgresKind } from './postgres.ts';
import { queueLoadKind } from './queue-load.ts';
import { redisKind } from './redis.ts';
import { resourcesKind } from './resources.ts';
import { slackKind } from './slack.ts';
import { smtpKind } from './smtp.ts';
import { tcpKind } from './tcp.ts';
import { videoE2EKind } from './video-e2e.ts';

export const KINDS: ReadonlyMap<string, ProbeKind> = new Map(
  ([httpKind, tcpKind, dnsKind, postgresKind, redisKind, amqpKind, smtpKind, slackKind, ffmpegPingKind, videoE2EKind, resourcesKind, queueLoadKind, browserKind, heartbeatKind] as unknown as ProbeKind[]).map((kind) => [kind.kind, kind]),
);
