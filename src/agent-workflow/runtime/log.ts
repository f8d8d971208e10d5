/** The structured log the handlers take as a dependency, backed by a Powertools Logger. */
import type { Logger } from '@aws-lambda-powertools/logger';

export interface StructuredLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Adapts a Powertools Logger (extra fields become keys of the JSON log line). */
export function structuredLog(logger: Logger): StructuredLog {
  return {
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  };
}
