/**
 * Approval request (Lambda task invoked with .waitForTaskToken).
 *
 * Records the pending approval (the task token stays in DynamoDB, never in a message), notifies the
 * approvers over SNS with signed links to a confirm page, and announces it on EventBridge.
 * Idempotent: the approval id is an HMAC of the task token, so a retried invocation finds its own
 * item (never resetting it) and does not mail again once the notification went out.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApprovalItem, ApprovalRequestEvent, ApprovalStage, Scalar } from './contracts';
import { approvalIdFor, buildLinks } from './link-signing';
import { structuredLog } from './log';
import { signingKeyLoader } from './signing-key';
import { documentClient } from '../../core/runtime/document-client';
import { requireEnv } from '../../core/runtime/env';
import { StructuredLog } from '../../core/runtime/log';

/** The approvals table item as written: the contract item plus what the confirm page shows. */
export interface StoredApprovalItem extends ApprovalItem {
  readonly fields: Record<string, Scalar>;
  readonly summary: string;
  /** Epoch seconds when the SNS notification was published (absent until then). */
  readonly notifiedAt?: number;
}

export interface ApprovalRequestConfig {
  readonly approvalsTable: string;
  readonly signingSecretArn: string;
  readonly endpointUrl: string;
  readonly primaryTopicArn: string;
  /** '' = no escalation topic. */
  readonly escalationTopicArn: string;
  readonly eventBusName: string;
  readonly eventSource: string;
  readonly workflowName: string;
}

export interface ApprovalRequestResult {
  readonly approvalId: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** The structured log (core/runtime/log.ts). */
export type Log = StructuredLog;

export interface ApprovalRequestDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  readonly events: EventBridgeClient;
  /** The HMAC signing key (SecretString of SIGNING_SECRET_ARN). */
  readonly signingKey: () => Promise<string>;
  readonly now: () => Date;
  readonly log: Log;
}

/** Reads and checks the configuration; the error names the variable. */
export function readApprovalRequestConfig(env: Record<string, string | undefined>): ApprovalRequestConfig {
  const endpointUrl = requireEnv(env, 'ENDPOINT_URL');
  if (!/^https?:\/\/\S+\/$/.test(endpointUrl)) throw new Error(`Environment variable ENDPOINT_URL must be an http(s) URL ending with '/', got "${endpointUrl}"`);
  return {
    approvalsTable: requireEnv(env, 'APPROVALS_TABLE'),
    signingSecretArn: requireEnv(env, 'SIGNING_SECRET_ARN'),
    endpointUrl,
    primaryTopicArn: requireEnv(env, 'PRIMARY_TOPIC_ARN'),
    escalationTopicArn: requireEnv(env, 'ESCALATION_TOPIC_ARN', { allowEmpty: true }),
    eventBusName: requireEnv(env, 'EVENT_BUS_NAME'),
    eventSource: requireEnv(env, 'EVENT_SOURCE'),
    workflowName: requireEnv(env, 'WORKFLOW_NAME'),
  };
}

const MAX_TIMEOUT_SECONDS = 366 * 24 * 3600;

function invalid(message: string): Error {
  const err = new Error(`Invalid approval request: ${message}`);
  err.name = 'InvalidApprovalRequest';
  return err;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** Checks the task input; throws InvalidApprovalRequest naming the field (never echoing the token). */
export function parseApprovalRequest(event: unknown): ApprovalRequestEvent {
  if (!isRecord(event)) throw invalid('the event must be an object');
  const { taskToken, executionId, stage, timeoutSeconds, reason, subject, fields, summary, tools, heartbeatSeconds } = event;
  if (typeof taskToken !== 'string' || taskToken.length === 0 || taskToken.length > 8192) throw invalid('taskToken must be a non-empty string');
  if (typeof executionId !== 'string' || executionId.length === 0) throw invalid('executionId must be a non-empty string');
  if (stage !== 'primary' && stage !== 'escalation') throw invalid(`stage must be 'primary' or 'escalation', got ${JSON.stringify(stage)}`);
  if (typeof timeoutSeconds !== 'number' || !Number.isSafeInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
    throw invalid(`timeoutSeconds must be an integer between 1 and ${MAX_TIMEOUT_SECONDS}, got ${JSON.stringify(timeoutSeconds)}`);
  }
  if (typeof reason !== 'string') throw invalid('reason must be a string');
  if (!isRecord(subject) || typeof subject.bucket !== 'string' || subject.bucket === '' || typeof subject.key !== 'string' || subject.key === '') {
    throw invalid('subject must be an object with non-empty bucket and key');
  }
  const versionId = subject.versionId ?? null;
  if (versionId !== null && typeof versionId !== 'string') throw invalid('subject.versionId must be a string or null');
  if (!isRecord(fields)) throw invalid('fields must be an object');
  for (const [name, value] of Object.entries(fields)) {
    if (!isScalar(value)) throw invalid(`fields.${name} must be a string, number, boolean or null`);
  }
  if (typeof summary !== 'string') throw invalid('summary must be a string');
  if (tools !== undefined && tools !== null && !isRecord(tools)) throw invalid('tools must be an object');
  if (heartbeatSeconds !== undefined && (typeof heartbeatSeconds !== 'number' || !Number.isSafeInteger(heartbeatSeconds) || heartbeatSeconds < 0)) {
    throw invalid(`heartbeatSeconds must be a non-negative integer, got ${JSON.stringify(heartbeatSeconds)}`);
  }
  return {
    taskToken,
    executionId,
    stage,
    timeoutSeconds,
    reason,
    subject: { bucket: subject.bucket, key: subject.key, versionId },
    fields: fields as Record<string, Scalar>,
    summary,
    tools: (tools ?? {}) as Record<string, unknown>,
    heartbeatSeconds: heartbeatSeconds ?? 0,
  };
}

/** SNS Subject: printable ASCII only, one line, at most 100 characters. */
export function snsSubject(workflowName: string, stage: ApprovalStage, reason: string): string {
  const prefix = stage === 'escalation' ? 'ESCALATED approval needed' : 'Approval needed';
  const raw = `[${workflowName}] ${prefix}: ${reason}`;
  const ascii = raw.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  return ascii.length <= 100 ? ascii : `${ascii.slice(0, 97).trimEnd()}...`;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function compactJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return String(value);
  }
}

export interface NotificationModel {
  readonly workflowName: string;
  readonly request: ApprovalRequestEvent;
  readonly approvalId: string;
  readonly expiresAt: number;
  readonly links: { readonly approve: string; readonly reject: string; readonly heartbeat?: string };
}

/** The plain-text message: what is to be decided, and the signed links. Never the task token. */
export function notificationMessage(model: NotificationModel): string {
  const { request } = model;
  const s = request.subject;
  const object = `s3://${s.bucket}/${s.key}${s.versionId ? ` (version ${s.versionId})` : ''}`;
  const fields = Object.entries(request.fields).slice(0, 50).map(([k, v]) => `  ${k}: ${cut(v === null ? 'null' : String(v), 300)}`);
  let toolBudget = 4000;
  const tools: string[] = [];
  for (const [name, value] of Object.entries(request.tools)) {
    const line = `  ${name}: ${cut(compactJson(value), 800)}`;
    if (line.length > toolBudget) {
      tools.push('  (more tool results omitted)');
      break;
    }
    toolBudget -= line.length;
    tools.push(line);
  }
  return [
    `Workflow ${model.workflowName} is waiting for a human decision${request.stage === 'escalation' ? ' (ESCALATED: the first approver did not answer in time)' : ''}.`,
    '',
    `Reason: ${cut(request.reason, 1000)}`,
    `Object: ${object}`,
    `Execution: ${request.executionId}`,
    `Approval id: ${model.approvalId}`,
    `Expires: ${new Date(model.expiresAt * 1000).toISOString()}`,
    '',
    'Summary:',
    cut(request.summary, 2000) || '(none)',
    '',
    'Fields:',
    ...(fields.length > 0 ? fields : ['  (none)']),
    '',
    'Tool results:',
    ...(tools.length > 0 ? tools : ['  (none)']),
    '',
    'Each link opens a confirmation page; nothing is decided until you press its button.',
    `Approve: ${model.links.approve}`,
    `Reject:  ${model.links.reject}`,
    ...((request.heartbeatSeconds ?? 0) > 0 && model.links.heartbeat
      ? [`Reviewing (resets the ${Math.round(request.heartbeatSeconds! / 60)}-minute acknowledgement deadline, decides nothing): ${model.links.heartbeat}`]
      : []),
    '',
    'The links expire with the approval. Do not forward this message: anyone with the links can decide.',
  ].join('\n');
}

function isConditionalCheckFailed(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

export async function handle(event: unknown, config: ApprovalRequestConfig, deps: ApprovalRequestDeps): Promise<ApprovalRequestResult> {
  const request = parseApprovalRequest(event);
  const topicArn = request.stage === 'primary' ? config.primaryTopicArn : config.escalationTopicArn;
  if (!topicArn) throw invalid("stage 'escalation' requested but ESCALATION_TOPIC_ARN is empty (no escalation configured)");

  const key = await deps.signingKey();
  const approvalId = approvalIdFor(key, request.taskToken);
  const now = Math.floor(deps.now().getTime() / 1000);
  const subjectKey = `s3://${request.subject.bucket}/${request.subject.key}`;
  const fresh: StoredApprovalItem = {
    approvalId,
    taskToken: request.taskToken,
    executionId: request.executionId,
    stage: request.stage,
    status: 'PENDING',
    createdAt: now,
    expiresAt: now + request.timeoutSeconds,
    ttl: now + request.timeoutSeconds,
    reason: request.reason,
    subjectKey,
    fields: request.fields,
    summary: request.summary,
  };

  let item: StoredApprovalItem = fresh;
  try {
    await deps.ddb.send(new PutCommand({
      TableName: config.approvalsTable,
      Item: fresh,
      ConditionExpression: 'attribute_not_exists(approvalId)',
    }));
    deps.log.info('approval recorded', { approvalId, executionId: request.executionId, stage: request.stage, expiresAt: fresh.expiresAt });
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const existing = await deps.ddb.send(new GetCommand({ TableName: config.approvalsTable, Key: { approvalId }, ConsistentRead: true }));
    if (!existing.Item) throw new Error(`approval ${approvalId} exists according to the condition check but could not be read`);
    item = existing.Item as StoredApprovalItem;
    deps.log.info('retried request: reusing the existing approval', { approvalId, status: item.status, notified: item.notifiedAt !== undefined });
  }

  if (item.notifiedAt === undefined && item.status === 'PENDING') {
    const links = buildLinks(config.endpointUrl, approvalId, item.expiresAt, key);
    await deps.sns.send(new PublishCommand({
      TopicArn: topicArn,
      Subject: snsSubject(config.workflowName, request.stage, request.reason),
      Message: notificationMessage({ workflowName: config.workflowName, request, approvalId, expiresAt: item.expiresAt, links }),
    }));
    await deps.ddb.send(new UpdateCommand({
      TableName: config.approvalsTable,
      Key: { approvalId },
      UpdateExpression: 'SET notifiedAt = :now',
      ConditionExpression: 'attribute_exists(approvalId)',
      ExpressionAttributeValues: { ':now': now },
    }));
    deps.log.info('approvers notified', { approvalId, stage: request.stage });
  } else {
    deps.log.info('notification already sent (or approval no longer pending): not mailing again', { approvalId, status: item.status });
  }

  // The event is for dashboards; the approvers already have the links. A failure to announce is
  // logged, not thrown: failing the task now would end an execution whose links are in mailboxes.
  try {
    const put = await deps.events.send(new PutEventsCommand({
      Entries: [{
        EventBusName: config.eventBusName,
        Source: config.eventSource,
        DetailType: 'Approval Requested',
        Detail: JSON.stringify({
          workflow: config.workflowName,
          executionId: request.executionId,
          approvalId,
          stage: request.stage,
          reason: request.reason,
          expiresAt: new Date(item.expiresAt * 1000).toISOString(),
        }),
      }],
    }));
    if ((put.FailedEntryCount ?? 0) > 0) {
      const entry = put.Entries?.find((e) => e.ErrorCode);
      deps.log.error('the Approval Requested event was not accepted', { approvalId, errorCode: entry?.ErrorCode ?? 'unknown', errorMessage: entry?.ErrorMessage });
    }
  } catch (err) {
    deps.log.error('the Approval Requested event could not be sent', { approvalId, error: err instanceof Error ? err.name : String(err) });
  }
  return { approvalId, expiresAt: item.expiresAt };
}

const ddb = documentClient();
const sns = new SNSClient({});
const events = new EventBridgeClient({});
const secrets = new SecretsManagerClient({});

let runtime: { config: ApprovalRequestConfig; deps: ApprovalRequestDeps; logger: Logger } | undefined;

function init(): { config: ApprovalRequestConfig; deps: ApprovalRequestDeps; logger: Logger } {
  if (runtime) return runtime;
  const config = readApprovalRequestConfig(process.env);
  const logger = new Logger({ serviceName: 'agent-workflow-approval-request' });
  const signingKey = signingKeyLoader(secrets, config.signingSecretArn);
  runtime = {
    config,
    logger,
    deps: {
      ddb,
      sns,
      events,
      signingKey,
      now: () => new Date(),
      log: structuredLog(logger),
    },
  };
  return runtime;
}

export async function handler(event: unknown): Promise<ApprovalRequestResult> {
  const { config, deps, logger } = init();
  try {
    return await handle(event, config, deps);
  } catch (err) {
    logger.error('approval request failed', { error: err instanceof Error ? { name: err.name, message: err.message } : String(err) });
    throw err;
  }
}

/** For tests: forget the configuration read at cold start (and the cached signing key). */
export function resetForTests(): void {
  runtime = undefined;
}
