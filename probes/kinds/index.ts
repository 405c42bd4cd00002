// The registry of probe kinds: one line per kind. The constructors config files call, the package's exports
// (`import { http } from 'vigil'`), the loader's table and the definition union all come from these lines.
export { amqp } from './amqp.ts';
export { browser } from './browser.ts';
export { dns } from './dns.ts';
export { ffmpegPing } from './ffmpeg-ping.ts';
export { heartbeat } from './heartbeat.ts';
export { http } from './http.ts';
export { postgres } from './postgres.ts';
export { queueLoad } from './queue-load.ts';
export { redis } from './redis.ts';
export { resources } from './resources.ts';
export { slack } from './slack.ts';
export { smtp } from './smtp.ts';
export { tcp } from './tcp.ts';
export { videoE2E } from './video-e2e.ts';
