/**
 * IP range sync handler. Thin: recognise the event (CloudFormation custom resource, SNS
 * AmazonIpSpaceChanged notification, schedule, manual invoke), run the engine, answer.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseSyncConfig, SyncConfig } from './config';
import { parseSnsNotification } from './documents';
import { revokeOwnedRules, runSync, SyncDeps, SyncOutcome, SyncRequest } from './engine';
import { buildCfnResponse, CfnEvent, fetchPut, HttpPut, sendCfnResponse } from '../../core/runtime/cfn-response';

export const METRICS_NAMESPACE = 'CdkProductionPatterns/IpRangeSync';

const logger = new Logger({ serviceName: 'ip-range-sync' });

/** Fetch with a timeout; a non-2xx answer is an error naming the URL and status. */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(20_000), headers: { 'user-agent': 'cdk-production-patterns-ip-range-sync' } });
  if (!res.ok) throw new Error(`GET ${url} answered HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Recognises the event. Exported for tests. */
export function classifyEvent(event: any): { kind: 'cfn'; event: CfnEvent } | { kind: 'sync'; request: SyncRequest } {
  if (event && typeof event.RequestType === 'string' && typeof event.ResponseURL === 'string') return { kind: 'cfn', event };
  const sns = event?.Records?.[0]?.Sns;
  if (sns) return { kind: 'sync', request: { trigger: 'notification', notification: parseSnsNotification(String(sns.Message)) } };
  if (event?.source === 'aws.events' || event?.['detail-type'] === 'Scheduled Event') return { kind: 'sync', request: { trigger: 'schedule' } };
  return { kind: 'sync', request: { trigger: 'manual' } };
}

/** Handles one event with the given dependencies. Exported for tests. */
export async function handle(event: any, config: SyncConfig, deps: SyncDeps, put: HttpPut = fetchPut): Promise<SyncOutcome | undefined> {
  const classified = classifyEvent(event);
  if (classified.kind === 'sync') return runSync(config, classified.request, deps);

  const cfn = classified.event;
  const physicalResourceId = cfn.PhysicalResourceId ?? `ip-range-sync-${config.syncId}`;
  try {
    if (cfn.RequestType === 'Delete') {
      // Revoke the rules this sync owns so the groups can be deleted. A failure here must not block
      // the stack deletion: the groups go with their rules anyway. It is logged.
      try {
        const calls = await revokeOwnedRules(config, deps);
        deps.log.info('stack deletion: owned rules revoked', { calls });
      } catch (err) {
        deps.log.error('stack deletion: revoking owned rules failed; the groups are deleted with their rules', { error: String(err) });
      }
      await sendCfnResponse(buildCfnResponse(cfn, { status: 'SUCCESS', physicalResourceId }), cfn.ResponseURL, put);
      return undefined;
    }
    const outcome = await runSync(config, { trigger: 'deployment' }, deps);
    await sendCfnResponse(buildCfnResponse(cfn, {
      status: 'SUCCESS',
      physicalResourceId,
      data: { Status: outcome.status, DesiredIpv4: String(outcome.desired.ipv4), DesiredIpv6: String(outcome.desired.ipv6) },
    }), cfn.ResponseURL, put);
    return outcome;
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    deps.log.error('initial sync failed', { error: reason });
    await sendCfnResponse(buildCfnResponse(cfn, { status: 'FAILED', physicalResourceId, reason }), cfn.ResponseURL, put);
    return undefined;
  }
}

let cached: { config: SyncConfig; deps: SyncDeps; metrics: Metrics } | undefined;

function init(): { config: SyncConfig; deps: SyncDeps; metrics: Metrics } {
  if (cached) return cached;
  const config = parseSyncConfig(process.env);
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'ip-range-sync', defaultDimensions: { SyncId: config.syncId } });
  const clientConfig = { maxAttempts: 2 };
  cached = {
    config,
    metrics,
    deps: {
      ec2: new EC2Client(clientConfig),
      waf: new WAFV2Client({ ...clientConfig, region: config.target.kind === 'wafIpSet' && config.target.scope === 'CLOUDFRONT' ? 'us-east-1' : undefined }),
      ddb: DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig)),
      fetchBytes,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      now: () => new Date(),
      log: {
        info: (message, extra) => logger.info(message, extra ?? {}),
        warn: (message, extra) => logger.warn(message, extra ?? {}),
        error: (message, extra) => logger.error(message, extra ?? {}),
      },
      metrics: {
        count: (name, value) => metrics.addMetric(name, MetricUnit.Count, value),
        milliseconds: (name, value) => metrics.addMetric(name, MetricUnit.Milliseconds, value),
      },
    },
  };
  return cached;
}

export async function handler(event: unknown): Promise<unknown> {
  const { config, deps, metrics } = init();
  try {
    const outcome = await handle(event, config, deps);
    return outcome ? { status: outcome.status, added: outcome.added.length, removed: outcome.removed.length, mutatingCalls: outcome.mutatingCalls } : { status: 'OK' };
  } catch (err) {
    metrics.addMetric('SyncFailure', MetricUnit.Count, 1);
    logger.error('sync failed; nothing was changed beyond what is recorded', { error: err instanceof Error ? { name: err.name, message: err.message } : String(err) });
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
