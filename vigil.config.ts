import { defineConfig, ffmpegPing, http, queueLoad, resources, videoE2E } from 'vigil';

// The example deployment `npm start` runs. Environment variables (DATABASE_URL, VIGIL_PORT, SMTP_URL, ...)
// override the matching fields, so the same file serves a laptop and production.
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
    lease: '15m',
    stages: { transcode: { timeout: '1h', retries: 3 } },
    retention: { failed: '7d', synthetic: '1h', orphans: '1h' },
    gc: { interval: '10m', maxBytes: '50GB' },
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
});
