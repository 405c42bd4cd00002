import os from 'node:os';
import { trace } from '@opentelemetry/api';
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

/** JSON logs with service, role, host and the active trace and span ids. */
export function createLogger(options: { level?: string; roles?: string[]; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'vigil', host: os.hostname(), pid: process.pid, ...(options.roles ? { roles: options.roles.join(',') } : {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['*.password', '*.token', '*.authorization', 'req.headers.authorization', 'headers.authorization', '*.smtpUrl', '*.url.password'],
        censor: '[redacted]',
      },
      mixin() {
        const context = trace.getActiveSpan()?.spanContext();
        return context && context.traceId !== '00000000000000000000000000000000'
          ? { trace_id: context.traceId, span_id: context.spanId }
          : {};
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
