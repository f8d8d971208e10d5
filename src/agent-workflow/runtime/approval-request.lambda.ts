/**
 * Approval request (Lambda task invoked with .waitForTaskToken).
 *
 * Records the pending approval (the task token stays in DynamoDB, never in a message), notifies the
 * approvers over SNS with signed links to a confirm page, and announces it on EventBridge.
 * Idempotent: the approval id is a hash of the task token (not of the signing key), so a retried
 * invocation finds its own item (never resetting it), even after a key rotation, and does not mail
 * again once the notification went out.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApprovalItem, ApprovalRequestEvent, ApprovalStage, Scalar } from './contracts';
import { approvalIdOf, buildLinks, SigningKeySource } from './link-signing';
import { structuredLog } from './log';
import { failedEntries, parseProgressRequest, PROGRESS, progressEntry } from './progress-events';
import { signingKeyLoader } from './signing-key';
import { cleanText, defangLinks, eventText, quoteUntrusted, UNTRUSTED_LINE_PREFIX, untrustedJson, untrustedLines, wrapText } from './untrusted-text';
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
  /** The HMAC signing keys (versions of SIGNING_SECRET_ARN): links are signed with the current one. */
  readonly signingKey: SigningKeySource;
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

/** The line that opens the untrusted part of the message (nothing of untrusted origin can start a line with it). */
export const UNTRUSTED_SEPARATOR = '==================== UNTRUSTED CONTENT BELOW ====================';
/** The line that closes it. */
export const UNTRUSTED_END = '==================== END OF UNTRUSTED CONTENT ===================';
/** Width of the untrusted values' lines (after the prefix and indent). */
const WRAP = 72;
/** Limits of what the message shows (characters): the approval page and the artifact keep the rest. */
const SHOW = { key: 1024, summary: 2000, fieldName: 64, fieldValue: 300, fields: 50, tool: 800, toolsTotal: 4000, reason: 1000 } as const;

function scalarText(value: Scalar): string {
  return typeof value === 'string' ? quoteUntrusted(value, SHOW.fieldValue) : String(value);
}

/** A labelled value: the label, then the value wrapped on indented lines. */
function labelled(label: string, value: string): string[] {
  return [label, ...wrapText(value, WRAP).map((l) => `  ${l}`)];
}

/** `name: value` wrapped, continuation lines indented further. */
function entry(name: string, value: string): string[] {
  const [first, ...rest] = wrapText(`${name}: ${value}`, WRAP);
  return [`  ${first}`, ...rest.map((l) => `    ${l}`)];
}

/** What the upload and the model put into the message: quoted, cut, one value per line, each line prefixed. */
function untrustedPart(request: ApprovalRequestEvent): string[] {
  const s = request.subject;
  const fieldEntries = Object.entries(request.fields);
  const fields = fieldEntries.slice(0, SHOW.fields).flatMap(([k, v]) => entry(quoteUntrusted(k, SHOW.fieldName), scalarText(v)));
  if (fieldEntries.length > SHOW.fields) fields.push(`  (${fieldEntries.length - SHOW.fields} more fields omitted)`);
  let toolBudget: number = SHOW.toolsTotal;
  const tools: string[] = [];
  for (const [name, value] of Object.entries(request.tools)) {
    const [shownName, shownValue] = [quoteUntrusted(name, SHOW.fieldName), untrustedJson(compactJson(value), SHOW.tool)];
    if (shownName.length + shownValue.length > toolBudget) {
      tools.push('  (more tool results omitted)');
      break;
    }
    toolBudget -= shownName.length + shownValue.length;
    tools.push(...entry(shownName, shownValue));
  }
  const summary = cleanText(request.summary);
  return untrustedLines([
    ...labelled('Object key (chosen by the uploader):', quoteUntrusted(s.key, SHOW.key)),
    `Bucket: ${quoteUntrusted(s.bucket, 63)}${s.versionId ? `  Version: ${quoteUntrusted(s.versionId, 1024)}` : ''}`,
    '',
    ...(summary ? labelled('Summary (written by the model):', quoteUntrusted(summary, SHOW.summary)) : ['Summary (written by the model): (none)']),
    '',
    'Fields (the model\'s answer):',
    ...(fields.length > 0 ? fields : ['  (none)']),
    '',
    'Tool results:',
    ...(tools.length > 0 ? tools : ['  (none)']),
  ]);
}

/**
 * The plain-text message, in a fixed layout that untrusted text cannot imitate: first the workflow's
 * own part (workflow, approval id, expiry, reason, the signed links), then a separator, then what the
 * upload and the model said, every value quoted and cleaned (untrusted-text.ts) and every line
 * prefixed with `| `, then a closing line. Never the task token.
 */
export function notificationMessage(model: NotificationModel): string {
  const { request } = model;
  const heartbeat = (request.heartbeatSeconds ?? 0) > 0 && model.links.heartbeat
    ? [`Reviewing (resets the ${Math.round(request.heartbeatSeconds! / 60)}-minute acknowledgement deadline, decides nothing): ${model.links.heartbeat}`]
    : [];
  return [
    `Workflow ${eventText(model.workflowName, 100)} is waiting for a human decision${request.stage === 'escalation' ? ' (ESCALATED: the first approver did not answer in time)' : ''}.`,
    '',
    `Approval id: ${model.approvalId}`,
    `Expires: ${new Date(model.expiresAt * 1000).toISOString()}`,
    `Reason: ${defangLinks(eventText(request.reason, SHOW.reason))}`,
    `Execution: ${defangLinks(eventText(request.executionId, 2048))}`,
    '',
    'Each link opens a confirmation page; nothing is decided until you press its button.',
    `Approve: ${model.links.approve}`,
    `Reject:  ${model.links.reject}`,
    ...heartbeat,
    '',
    'The links expire with the approval. Do not forward this message: anyone with the links can decide.',
    'These are the only links of this message.',
    '',
    UNTRUSTED_SEPARATOR,
    'Everything below came from the upload (object key) or from the model and the tools, and is',
    `untrusted: each value is quoted, on lines starting with "${UNTRUSTED_LINE_PREFIX.trim()}", with links disabled ([:]//).`,
    'It decides nothing; do not follow instructions or links in it.',
    ...untrustedPart(request),
    UNTRUSTED_END,
  ].join('\n');
}

function isConditionalCheckFailed(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

export async function handle(event: unknown, config: ApprovalRequestConfig, deps: ApprovalRequestDeps): Promise<ApprovalRequestResult> {
  const request = parseApprovalRequest(event);
  // `progress` (the first request only): the 'approval' progress event joins the announcement
  const progress = parseProgressRequest(isRecord(event) ? event.progress : undefined, 'Invalid approval request: progress');
  const topicArn = request.stage === 'primary' ? config.primaryTopicArn : config.escalationTopicArn;
  if (!topicArn) throw invalid("stage 'escalation' requested but ESCALATION_TOPIC_ARN is empty (no escalation configured)");

  // links are signed with the current key (its VersionId named in each link)
  const key = (await deps.signingKey.keys()).current;
  const approvalId = approvalIdOf(request.taskToken);
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
  const awaiting = progress ? [progressEntry(config, progress.executionId, PROGRESS.awaitingApproval, deps.now().toISOString())] : [];
  try {
    const put = await deps.events.send(new PutEventsCommand({
      Entries: [{
        EventBusName: config.eventBusName,
        Source: config.eventSource,
        DetailType: 'Approval Requested',
        // strings from the state are cleaned as in the message (one line, no control or invisible characters, cut)
        Detail: JSON.stringify({
          workflow: eventText(config.workflowName, 100),
          executionId: eventText(request.executionId, 2048),
          approvalId,
          stage: request.stage,
          reason: eventText(request.reason),
          expiresAt: new Date(item.expiresAt * 1000).toISOString(),
        }),
      }, ...awaiting],
    }));
    for (const f of failedEntries(1 + awaiting.length, put)) {
      const what = f.index === 1 ? 'the approval progress event' : 'the Approval Requested event';
      deps.log.error(`${what} was not accepted`, { approvalId, errorCode: f.errorCode, errorMessage: f.errorMessage });
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
  // signs with AWSCURRENT only (verifying is the endpoint's)
  const signingKey = signingKeyLoader(secrets, config.signingSecretArn, { previous: false });
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
