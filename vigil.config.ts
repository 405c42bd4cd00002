import { randomBytes } from 'node:crypto';
import {
  bannerReceiver, component, defineConfig, emailReceiver, failureRateRule, ffmpegPing, http, metricRule, probeRule, queueLoad, queueRule, resources, route, slackReceiver, statusPageReceiver,
  timeToPublishRule, videoE2E,
} from 'vigil';

// The example deployment `npm start` runs. Environment variables (DATABASE_URL, VIGIL_PORT, SMTP_URL, ...)
// override the matching fields, so the same file serves a laptop and production.
// The alert receivers this machine can reach (see the alerts section).
const reachable = [...(process.env.SMTP_URL ? ['admins'] : []), ...(process.env.SLACK_BOT_TOKEN ? ['slack'] : [])];

// The end-to-end probe's processing API key: VIGIL_E2E_API_KEY when set (a stable key, e.g. for a probe in another
// Vigil), else one made for this process. Declared below with only the scopes the probe needs.
const e2eKey = process.env.VIGIL_E2E_API_KEY ?? randomBytes(32).toString('base64url');

export default defineConfig({
  server: { port: 8080, shutdownTimeout: '10s' },
  database: { dataDir: '.vigil/data' },
  smtp: { from: 'Vigil <vigil@localhost>' },
  // Processing core: uploads → store, probe, transcode, thumbnail, verify, publish (VIGIL_STORAGE_DIR overrides storageDir).
  processing: {
    storageDir: '.vigil/storage',
    maxUploadBytes: '2GB',
    renditions: [{ name: '720p', height: 720 }],
    concurrency: 2,
    lease: '30s',
    stages: { transcode: { timeout: '1h', retries: 3 } },
    retention: { failed: '7d', synthetic: '1h', orphans: '1h' },
    gc: { interval: '10m', maxBytes: '50GB' },
    // The platform's backend uses keys made with `vigil keys create`; its users' browsers upload through direct
    // upload URLs (POST /api/v1/uploads), from these origins only.
    keys: [{ name: 'e2e-probe', scopes: ['upload', 'read', 'delete'], key: e2eKey }],
    uploads: { allowedOrigins: ['http://localhost:3000'], defaultExpiry: '1h', maxExpiry: '1d' },
    apiLimits: { perKey: 600, perAddress: 60, bytesPerDay: '100GB', concurrentUploads: 8 },
    // Uploaders are told once when their video waits this long because processing is down, then get the result.
    notices: { delayedAfter: '15m' },
  },
  // Probes: each runs on its schedule (plus once within 30 s of start), results go to /metrics and the store.
  // Try one with `npm run vigil -- probe test video-e2e`; list them with `npm run vigil -- probe list`.
  probes: [
    http({
      name: 'vigil-ready',
      url: '/readyz', // this Vigil's own address
      schedule: '30s',
      timeout: '5s',
      expect: { status: 200, json: { status: 'ready' }, maxLatency: '2s' },
      runAtStart: true,
      labels: { component: 'api', severity: 'critical', environment: 'production' },
    }),
    videoE2E({
      name: 'video-e2e',
      apiKey: e2eKey,
      schedule: '5m',
      timeout: '4m',
      clip: { seconds: 2, width: 320, height: 240 },
      deadlines: { queued: '1m', processing: '2m', published: '3m' },
      failureThreshold: 2,
      runAtStart: true,
      labels: { component: 'processing', severity: 'critical', environment: 'production' },
    }),
    ffmpegPing({
      name: 'ffmpeg-ping',
      schedule: '1m',
      budget: '20s',
      timeout: '30s',
      runAtStart: true,
      labels: { component: 'processing', severity: 'warning', environment: 'production' },
    }),
    resources({
      name: 'host-resources',
      schedule: '30s',
      maxLoadPerCpu: 4,
      minMemoryAvailable: 0.05,
      disks: [{ path: '.', minFree: 0.05 }],
      maxEventLoopLag: '500ms',
      runAtStart: true,
      labels: { component: 'host', severity: 'warning', environment: 'production' },
    }),
    queueLoad({
      name: 'processing-queues',
      schedule: '1m',
      window: '10m',
      maxOldestAge: '10m',
      maxTimeToDrain: '30m',
      failureThreshold: 3,
      runAtStart: true,
      labels: { component: 'processing', severity: 'warning', environment: 'production' },
    }),
  ],
  // Alerts: rules → incidents → routes → receivers. Routes name only receivers this machine can reach: email once
  // SMTP_URL is set, Slack once SLACK_BOT_TOKEN is set (`vigil validate` and the start-up log name any that cannot
  // work). Without either, incidents still show in `vigil incident list`. Mute with `vigil silence add`, plan work
  // with `vigil maintenance add`.
  alerts: {
    evaluationInterval: '5s',
    escalateAfter: '1h',
    rules: [
      probeRule({ name: 'vigil-down', probe: 'vigil-ready', labels: { service: 'vigil', component: 'api', severity: 'critical' } }),
      probeRule({ name: 'video-pipeline-down', probe: 'video-e2e', labels: { service: 'processing', component: 'pipeline', severity: 'critical' } }),
      // A fifth of the last 15 minutes' uploads failing raises it; it clears once at most 5 % fail for 10 minutes.
      failureRateRule({ name: 'video-failure-rate', window: '15m', minSamples: 10, trigger: 0.2, clear: 0.05, hold: '10m', labels: { service: 'processing', component: 'pipeline', severity: 'warning' } }),
      // The time-to-publish promise for clips under a minute: p95 ≤ 0.5 × duration + 5 s, so at most 35 s.
      timeToPublishRule({ name: 'publish-slow-short-clips', bucket: '<1m', p95Above: '35s', window: '1h', minSamples: 5, labels: { service: 'processing', component: 'pipeline', severity: 'warning' } }),
      // Processing events (processing.events) the platform's application has not taken for 15 minutes: its endpoint is
      // down or refusing them; they are kept and retried for a day, so it learns of nothing meanwhile.
      metricRule({
        name: 'processing-events-backlog',
        metric: 'vigil_processing_events_oldest_pending_age_seconds',
        above: 900,
        for: '5m',
        labels: { service: 'processing', component: 'events', severity: 'warning' },
      }),
      // A probe agent that stopped reporting (its location no longer votes in any quorum): one series per probe and location.
      metricRule({ name: 'probe-location-silent', metric: 'vigil_probe_location_silent', above: 0, labels: { service: 'vigil', component: 'probes', severity: 'warning' } }),
      queueRule({ name: 'transcode-backlog', queue: 'processing.transcode', maxOldestAge: '10m', for: '5m', labels: { service: 'processing', component: 'transcode', severity: 'warning' } }),
    ],
    receivers: {
      ...(process.env.SMTP_URL ? { admins: emailReceiver({ to: [process.env.VIGIL_ALERT_EMAIL ?? 'admin@localhost'] }) } : {}),
      ...(process.env.SLACK_BOT_TOKEN ? { slack: slackReceiver({ channel: '#vigil-alerts' }) } : {}),
      // Publishes incidents of the status page's components at / with the page's public wording.
      public: statusPageReceiver({}),
      // Raises the banner on the platform's own pages (/embed/banner.js) while processing is in trouble.
      site: bannerReceiver({}),
    },
    // Outages become public incidents on the status page (and show on the site banner); processing slowing down
    // raises only the site banner, which clears itself.
    routes: [
      route({ match: { severity: 'critical' }, receivers: ['public'], continue: true }),
      route({ match: { service: 'processing', severity: 'warning' }, receivers: ['site'], continue: true }),
      ...(reachable.length > 0 ? [route({ receivers: reachable, groupBy: ['service'], repeatInterval: '4h' })] : []),
    ],
    inhibit: [{ source: { service: 'vigil' }, target: { service: 'processing' } }],
  },
  // The public status page at / (and /api/v2/summary.json, /history.atom, /badge.svg): components over the probes
  // and rules above, with public names only. Publish by hand with `vigil status incident open ...`.
  statusPage: {
    branding: { name: 'Video Platform Status', timeZone: 'Europe/Paris' },
    components: [
      component({ name: 'Website and API', description: 'Sign-in, browsing and the public API', from: { probes: ['vigil-ready'], rules: ['vigil-down'] } }),
      component({ name: 'Video uploads', group: 'Video', description: 'Uploading new videos', from: { probes: ['video-e2e'], rules: ['video-pipeline-down'] } }),
      component({
        name: 'Video processing',
        group: 'Video',
        description: 'Transcoding and thumbnails of uploaded videos',
        from: { probes: ['video-e2e', 'ffmpeg-ping', 'processing-queues'], rules: ['video-failure-rate', 'transcode-backlog'] },
        quorum: 2,
      }),
      component({ name: 'Infrastructure', show: 'if-degraded', from: { probes: ['host-resources'] } }),
    ],
    automatic: { hold: '10m' },
    // The embeddable banner: maintenance is announced a day ahead; an ended alert's banner stays 10 minutes.
    banner: { leadTime: '24h', holdTime: '10m' },
  },
});
