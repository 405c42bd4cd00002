import { defineConfig } from 'vigil';

// The example deployment `npm start` runs. Environment variables (DATABASE_URL, VIGIL_PORT, SMTP_URL, ...)
// override the matching fields, so the same file serves a laptop and production.
export default defineConfig({
  server: { port: 8080, shutdownTimeout: '10s' },
  database: { dataDir: '.vigil/data' },
  smtp: { from: 'Vigil <vigil@localhost>' },
});
