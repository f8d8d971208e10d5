/**
 * Version pruner handler. Thin: invoked by the schedule (its input is the target list), by
 * CloudFormation after each deploy (a custom resource whose properties are the target list), or by
 * hand with the schedule's payload; runs the pruner and publishes its EMF metrics.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  CAPACITY_PROVIDER_DIMENSION, PRUNER_METRIC, PRUNER_METRICS_NAMESPACE, PRUNER_SERVICE_NAME, PruneOutcome,
} from './version-pruner-contract';
import { handlePrunerEvent, parsePrunerConfig, PrunerConfig, PrunerDeps } from './version-pruning';
import { structuredLog } from '../../core/runtime/log';

const logger = new Logger({ serviceName: PRUNER_SERVICE_NAME });

let cached: { config: PrunerConfig; deps: PrunerDeps; metrics: Metrics } | undefined;

function init(): { config: PrunerConfig; deps: PrunerDeps; metrics: Metrics } {
  if (cached) return cached;
  const config = parsePrunerConfig(process.env);
  const metrics = new Metrics({ namespace: PRUNER_METRICS_NAMESPACE, serviceName: PRUNER_SERVICE_NAME });
  cached = {
    config,
    metrics,
    deps: {
      // Throttled calls are retried by withRetry (logged, with backoff); the SDK's own retries are kept short.
      lambda: new LambdaClient({ maxAttempts: 2 }),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      log: structuredLog(logger),
      metrics: {
        count: (name, value) => metrics.addMetric(name, MetricUnit.Count, value),
        headroom: (provider, headroom, versions) => {
          const single = metrics.singleMetric();
          single.addDimension(CAPACITY_PROVIDER_DIMENSION, provider);
          single.addMetric(PRUNER_METRIC.versionHeadroom, MetricUnit.Count, headroom);
          const count = metrics.singleMetric();
          count.addDimension(CAPACITY_PROVIDER_DIMENSION, provider);
          count.addMetric(PRUNER_METRIC.versionsOnCapacityProvider, MetricUnit.Count, versions);
        },
      },
    },
  };
  return cached;
}

export async function handler(event: unknown, context?: { getRemainingTimeInMillis?: () => number }): Promise<PruneOutcome | undefined> {
  let state: ReturnType<typeof init>;
  try {
    state = init();
  } catch (err) {
    logger.error('version pruner configuration is invalid', { error: err instanceof Error ? { name: err.name, message: err.message } : String(err) });
    throw err;
  }
  const { config, deps, metrics } = state;
  try {
    const remaining = context?.getRemainingTimeInMillis;
    return await handlePrunerEvent(event, config, remaining ? { ...deps, remainingMs: () => remaining.call(context) } : deps);
  } catch (err) {
    metrics.addMetric(PRUNER_METRIC.failures, MetricUnit.Count, 1);
    logger.error('version pruner failed', {
      error: err instanceof Error ? { name: err.name, message: err.message } : String(err),
      event: JSON.stringify(event)?.slice(0, 1000),
    });
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
