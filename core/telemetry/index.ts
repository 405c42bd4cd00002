export { createLogger, type Logger } from './logger.ts';
export { createRegistry, type Registry } from './metrics.ts';
export { markSpanFailed, startTracing, tracer, withSpan, type Tracing } from './tracing.ts';
export { BUILD } from './build.ts';
