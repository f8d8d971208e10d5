/**
 * Approval monitor (scheduled): how many approvals wait for a human, and for how long.
 *
 * Queries the approvals table index `byStatus` (partition `status` = 'PENDING', sort `createdAt`
 * ascending) and publishes PendingApprovals and OldestPendingApprovalAgeSeconds (dimension
 * Workflow). Pending items past their expiry are not counted: Step Functions gave up on them and
 * they only wait for TTL deletion (so the index must project `expiresAt`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBDocumentClient, QueryCommand, QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { METRIC, METRICS_NAMESPACE } from './contracts';
import { documentClient } from '../../core/runtime/document-client';
import { requireEnv } from '../../core/runtime/env';

export const BY_STATUS_INDEX = 'byStatus';

export interface ApprovalMonitorConfig {
  readonly approvalsTable: string;
  readonly workflowName: string;
  readonly metricsNamespace: string;
}

export interface ApprovalMonitorResult {
  readonly pending: number;
  readonly oldestAgeSeconds: number;
}

export interface ApprovalMonitorDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly now: () => Date;
  readonly metrics: { gauge(name: string, unit: 'Count' | 'Seconds', value: number): void };
}

export function readApprovalMonitorConfig(env: Record<string, string | undefined>): ApprovalMonitorConfig {
  return {
    approvalsTable: requireEnv(env, 'APPROVALS_TABLE'),
    workflowName: requireEnv(env, 'WORKFLOW_NAME'),
    metricsNamespace: env.METRICS_NAMESPACE?.trim() || METRICS_NAMESPACE,
  };
}

/** Safety net against a runaway pagination loop (1 MB pages: far beyond any real backlog). */
const MAX_PAGES = 1000;

export async function handle(config: ApprovalMonitorConfig, deps: ApprovalMonitorDeps): Promise<ApprovalMonitorResult> {
  const nowMs = deps.now().getTime();
  const now = Math.floor(nowMs / 1000);
  let pending = 0;
  let oldestCreatedAt: number | undefined;
  let startKey: Record<string, unknown> | undefined;
  let pages = 0;
  do {
    // One ascending pass: the first live item is the oldest; every live item is counted.
    const page: QueryCommandOutput = await deps.ddb.send(new QueryCommand({
      TableName: config.approvalsTable,
      IndexName: BY_STATUS_INDEX,
      KeyConditionExpression: '#status = :pending',
      FilterExpression: 'expiresAt > :now',
      ProjectionExpression: 'createdAt',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pending': 'PENDING', ':now': now },
      ScanIndexForward: true,
      ExclusiveStartKey: startKey,
    }));
    const items = page.Items ?? [];
    pending += page.Count ?? items.length;
    if (oldestCreatedAt === undefined) {
      const first = items.find((i) => typeof i.createdAt === 'number');
      if (first) oldestCreatedAt = first.createdAt as number;
    }
    startKey = page.LastEvaluatedKey;
    pages += 1;
  } while (startKey && pages < MAX_PAGES);

  const oldestAgeSeconds = oldestCreatedAt === undefined ? 0 : Math.max(0, now - oldestCreatedAt);
  deps.metrics.gauge(METRIC.pendingApprovals, 'Count', pending);
  deps.metrics.gauge(METRIC.oldestPendingApprovalAgeSeconds, 'Seconds', oldestAgeSeconds);
  return { pending, oldestAgeSeconds };
}

const ddb = documentClient();

let runtime: { config: ApprovalMonitorConfig; deps: ApprovalMonitorDeps; metrics: Metrics; logger: Logger } | undefined;

function init(): { config: ApprovalMonitorConfig; deps: ApprovalMonitorDeps; metrics: Metrics; logger: Logger } {
  if (runtime) return runtime;
  const config = readApprovalMonitorConfig(process.env);
  const logger = new Logger({ serviceName: 'agent-workflow-approval-monitor' });
  const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: 'agent-workflow-approval-monitor' });
  // exactly {Workflow}: Powertools adds a `service` dimension by default, which the construct's alarm does not name
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ Workflow: config.workflowName });
  runtime = {
    config,
    metrics,
    logger,
    deps: {
      ddb,
      now: () => new Date(),
      metrics: { gauge: (name, unit, value) => metrics.addMetric(name, unit === 'Count' ? MetricUnit.Count : MetricUnit.Seconds, value) },
    },
  };
  return runtime;
}

export async function handler(_event?: unknown): Promise<ApprovalMonitorResult> {
  const { config, deps, metrics, logger } = init();
  try {
    const result = await handle(config, deps);
    logger.info('pending approvals', { ...result });
    return result;
  } catch (err) {
    logger.error('approval monitor failed', { error: err instanceof Error ? { name: err.name, message: err.message } : String(err) });
    throw err;
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

/** For tests: forget the configuration read at cold start. */
export function resetForTests(): void {
  runtime = undefined;
}
