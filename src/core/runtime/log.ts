/**
 * The structured log every handler takes as a dependency (pure modules log through it, tests
 * collect it), backed by a Powertools Logger in the entry points.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

export interface StructuredLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/**
 * Adapts a Powertools Logger: extra fields become keys of the JSON log line. Powertools owns the
 * keys `level`, `message`, `timestamp`, `service` and `xray_trace_id`: an extra field with one of
 * those names is dropped, so name a cause `error` or `errorMessage`, never `message`.
 */
export function structuredLog(logger: Logger): StructuredLog {
  return {
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  };
}
