/**
 * IP range sync handler. Thin: recognise the event (CloudFormation custom resource, SNS
 * AmazonIpSpaceChanged notification, schedule, manual invoke), run the engine, answer.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { parseSyncConfig } from './config';
import { DeploymentSyncStatus, METRIC, METRICS_NAMESPACE, SERVICE_NAME, SyncConfig, SyncStatus } from './contracts';
import { SyncDeps, SyncOutcome, SyncRequest } from './deps';
import { parseSnsNotification } from './documents';
import { runSync } from './engine';
import { revokeOwnedRules } from './targets';
import { buildCfnResponse, CfnEvent, fetchPut, HttpPut, sendCfnResponse } from '../../core/runtime/cfn-response';
import { documentClient } from '../../core/runtime/document-client';
import { structuredLog } from '../../core/runtime/log';

const logger = new Logger({ serviceName: SERVICE_NAME });

/** The innermost cause of a fetch failure (`ECONNREFUSED`, `SELF_SIGNED_CERT_IN_CHAIN`...), in words. */
export function fetchFailureCause(err: unknown): string {
  const parts: string[] = [];
  let e: any = err;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause) {
    const text = [e.code, e.name === 'TimeoutError' ? 'timed out' : undefined, e.message].filter(Boolean).join(' ');
    if (text && !parts.includes(text)) parts.push(text);
  }
  return parts.join(' <- ') || String(err);
}

/**
 * Fetch with a timeout. Every failure names the URL and its cause: a host that cannot be reached, a
 * TLS certificate that is not trusted, a timeout, or a non-2xx answer with the start of its body
 * (GitHub's 403 says "API rate limit exceeded" there).
 */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(20_000), headers: { 'user-agent': 'cdk-production-patterns-ip-range-sync' } });
  } catch (err) {
    throw new Error(`GET ${url} failed: ${fetchFailureCause(err)}`);
  }
  if (!res.ok) {
    const body = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 300);
    throw new Error(`GET ${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${body ? `: ${body}` : ''}`);
  }
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

/** The custom resource's answer data (`Fn::GetAtt`-able); Status is FAILED when the sync threw. */
type CfnData = { Status: DeploymentSyncStatus; DesiredIpv4?: string; DesiredIpv6?: string };

/** What a direct (manual) invoke answers: the outcome's counts, or OK for events that run no sync. */
export interface InvokeResult {
  readonly status: SyncStatus | 'OK';
  readonly added?: number;
  readonly removed?: number;
  readonly planned?: SyncOutcome['planned'];
  readonly mutatingCalls?: number;
  readonly refusal?: SyncOutcome['refusal'];
}

/** Answers CloudFormation's status question for the Delete path (undefined when unknown). */
export type StackStatusReader = (stackId: string) => Promise<string | undefined>;

/**
 * Handles one event with the given dependencies. Exported for tests.
 *
 * CloudFormation: Create syncs and fails the deployment when the sync fails or is refused (the rules
 * must exist when the stack completes). Update syncs but always answers SUCCESS: a FAILED Update
 * would be rolled back by running the same failing sync again and leave the stack in
 * UPDATE_ROLLBACK_FAILED; the failure is logged, counted (SyncFailure) and alarmed instead. Delete
 * revokes the owned rules only when the whole stack is being deleted (not when the custom resource
 * alone goes away), and never in dry-run mode.
 */
export async function handle(
  event: any, config: SyncConfig, deps: SyncDeps, put: HttpPut = fetchPut, stackStatus?: StackStatusReader,
): Promise<SyncOutcome | undefined> {
  const classified = classifyEvent(event);
  if (classified.kind === 'sync') return runSync(config, classified.request, deps);

  const cfn = classified.event;
  const physicalResourceId = cfn.PhysicalResourceId ?? `ip-range-sync-${config.syncId}`;
  const respond = (status: 'SUCCESS' | 'FAILED', reason?: string, data?: Record<string, string>) =>
    sendCfnResponse(buildCfnResponse(cfn, { status, physicalResourceId, reason, data }), cfn.ResponseURL, put);

  if (cfn.RequestType === 'Delete') {
    try {
      const status = stackStatus ? await stackStatus(cfn.StackId) : undefined;
      if (config.dryRun) {
        deps.log.info('dry run: owned rules are left in place on delete');
      } else if (status === 'DELETE_IN_PROGRESS') {
        const calls = await revokeOwnedRules(config, deps);
        deps.log.info('stack deletion: owned rules revoked', { calls });
      } else {
        deps.log.info('custom resource removed but the stack stays; owned rules are kept', { stackStatus: status });
      }
    } catch (err) {
      // The groups are deleted with their rules anyway: never block the stack deletion.
      deps.log.error('stack deletion: revoking owned rules failed; the groups go with their rules', { error: String(err) });
    }
    await respond('SUCCESS');
    return undefined;
  }

  try {
    const outcome = await runSync(config, { trigger: 'deployment' }, deps);
    const data: CfnData = { Status: outcome.status, DesiredIpv4: String(outcome.desired.ipv4), DesiredIpv6: String(outcome.desired.ipv6) };
    if (outcome.status === 'REFUSED' && cfn.RequestType === 'Create') {
      await respond('FAILED', `sync refused (${outcome.refusal!.code}): ${outcome.refusal!.message}`, data);
    } else {
      await respond('SUCCESS', outcome.refusal ? `sync refused (${outcome.refusal.code}): ${outcome.refusal.message}` : undefined, data);
    }
    return outcome;
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    deps.log.error(`sync during ${cfn.RequestType} failed`, { error: reason });
    deps.metrics.count(METRIC.syncFailure, 1);
    await respond(cfn.RequestType === 'Create' ? 'FAILED' : 'SUCCESS', reason, { Status: 'FAILED' } satisfies CfnData);
    return undefined;
  }
}

let cached: { config: SyncConfig; deps: SyncDeps; metrics: Metrics; stackStatus: StackStatusReader } | undefined;

function init(): { config: SyncConfig; deps: SyncDeps; metrics: Metrics; stackStatus: StackStatusReader } {
  if (cached) return cached;
  const config = parseSyncConfig(process.env);
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, defaultDimensions: { SyncId: config.syncId } });
  const clientConfig = { maxAttempts: 2 };
  const cloudformation = new CloudFormationClient(clientConfig);
  cached = {
    config,
    metrics,
    stackStatus: async (stackId) => {
      const res = await cloudformation.send(new DescribeStacksCommand({ StackName: stackId }));
      return res.Stacks?.[0]?.StackStatus;
    },
    deps: {
      ec2: new EC2Client(clientConfig),
      waf: new WAFV2Client({ ...clientConfig, region: config.target.kind === 'wafIpSet' && config.target.scope === 'CLOUDFRONT' ? 'us-east-1' : undefined }),
      ddb: documentClient(clientConfig),
      fetchBytes,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      now: () => new Date(),
      log: structuredLog(logger),
      metrics: {
        count: (name, value) => metrics.addMetric(name, MetricUnit.Count, value),
        milliseconds: (name, value) => metrics.addMetric(name, MetricUnit.Milliseconds, value),
      },
    },
  };
  return cached;
}

export async function handler(event: unknown): Promise<InvokeResult> {
  const { config, deps, metrics, stackStatus } = init();
  try {
    const outcome = await handle(event, config, deps, fetchPut, stackStatus);
    return outcome
      ? {
        status: outcome.status,
        added: outcome.added.length,
        removed: outcome.removed.length,
        planned: outcome.planned,
        mutatingCalls: outcome.mutatingCalls,
        refusal: outcome.refusal,
      }
      : { status: 'OK' };
  } catch (err) {
    metrics.addMetric(METRIC.syncFailure, MetricUnit.Count, 1);
    logger.error('sync failed; what was applied before the failure is in the FAILED audit record (or in the log line before this one when that record could not be written)', {
      error: err instanceof Error ? { name: err.name, message: err.message } : String(err),
    });
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
