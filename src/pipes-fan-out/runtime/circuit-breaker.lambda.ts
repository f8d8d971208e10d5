/**
 * Pipe circuit breaker handler. Thin: invoked by EventBridge with a "CloudWatch Alarm State Change"
 * event of the breaker's trip alarm; stops the pipe on ALARM, starts it on OK (auto-restart only).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PipesClient } from '@aws-sdk/client-pipes';
import { BreakerConfig, BreakerDeps, BreakerOutcome, parseBreakerConfig, runBreaker } from './circuit-breaker';
import { BREAKER_DIMENSION, BREAKER_METRIC, BREAKER_METRICS_NAMESPACE, BREAKER_SERVICE_NAME } from './circuit-breaker-contract';
import { structuredLog } from '../../core/runtime/log';

const logger = new Logger({ serviceName: BREAKER_SERVICE_NAME });

let cached: { config: BreakerConfig; deps: BreakerDeps; metrics: Metrics } | undefined;

function init(): { config: BreakerConfig; deps: BreakerDeps; metrics: Metrics } {
  if (cached) return cached;
  const config = parseBreakerConfig(process.env);
  const metrics = new Metrics({
    namespace: BREAKER_METRICS_NAMESPACE, serviceName: BREAKER_SERVICE_NAME, defaultDimensions: { [BREAKER_DIMENSION]: config.pipeName },
  });
  cached = {
    config,
    metrics,
    deps: {
      // Throttled calls are retried by withRetry (logged, with backoff); the SDK's own retries are kept short.
      pipes: new PipesClient({ maxAttempts: 2 }),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      log: structuredLog(logger),
      count: (name) => metrics.addMetric(name, MetricUnit.Count, 1),
    },
  };
  return cached;
}

export async function handler(event: unknown): Promise<BreakerOutcome> {
  let state: ReturnType<typeof init>;
  try {
    state = init();
  } catch (err) {
    logger.error('circuit breaker configuration is invalid', { error: err instanceof Error ? { name: err.name, message: err.message } : String(err) });
    throw err;
  }
  const { config, deps, metrics } = state;
  try {
    return await runBreaker(event, config, deps);
  } catch (err) {
    metrics.addMetric(BREAKER_METRIC.breakerFailure, MetricUnit.Count, 1);
    logger.error(`circuit breaker failed for pipe ${config.pipeName}: the pipe may still be running (or still stopped); check it now`, {
      pipeName: config.pipeName,
      autoRestart: config.autoRestart,
      error: err instanceof Error ? { name: err.name, message: err.message } : String(err),
      event,
    });
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
