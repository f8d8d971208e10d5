/**
 * Approval endpoint (API Gateway REST proxy integration).
 *
 *   GET  /approvals/{id}?action=approve|reject|heartbeat&exp=<epoch s>&sig=<b64url>
 *        → confirm page. Changes nothing (mail scanners follow GET links).
 *   POST /approvals/{id}  (form-urlencoded or JSON: action, exp, sig, comment?, name?)
 *        → decides once: PENDING → DECIDING (conditional) → SendTaskSuccess/SendTaskFailure →
 *          DECIDED + audit record + event. If Step Functions no longer waits, the approval is
 *          CLOSED (410); if it cannot be reached, the approval goes back to PENDING (503).
 *
 * Refusals: malformed 400, forged 403, unknown 404, already decided 409, expired/closed 410.
 * Never logged: the signature, the task token, the signing key.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { confirmResponse, HttpResponse, MAX_COMMENT_LENGTH, MAX_NAME_LENGTH, prefersJson, resultResponse, ResultKind } from './approval-page';
import { APPROVAL_REJECTED_ERROR, ApprovalDecision, ApprovalItem, ApprovalStage, METRIC, METRICS_NAMESPACE, Scalar } from './contracts';
import { LinkAction, verifyLink } from './link-signing';
import { structuredLog } from './log';
import { signingKeyLoader } from './signing-key';
import { documentClient } from '../../core/runtime/document-client';
import { requireEnv } from '../../core/runtime/env';
import { StructuredLog } from '../../core/runtime/log';

/** A DECIDING record older than this (twice the function timeout) belongs to a crashed request. */
export const STALE_DECIDING_SECONDS = 60;

/** Step Functions errors meaning the task no longer waits for this token. */
export const TASK_CLOSED_ERRORS = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];
/** Largest request body accepted (bytes after base64 decoding). */
export const MAX_BODY_BYTES = 16 * 1024;

export interface ApprovalEndpointConfig {
  readonly approvalsTable: string;
  readonly auditTable: string;
  readonly signingSecretArn: string;
  readonly workflowName: string;
  readonly eventBusName: string;
  readonly eventSource: string;
  readonly metricsNamespace: string;
}

/** The structured log (core/runtime/log.ts). */
export type Log = StructuredLog;

export interface CountMetrics {
  count(name: string, value: number): void;
}

export interface ApprovalEndpointDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly sfn: SFNClient;
  readonly events: EventBridgeClient;
  readonly signingKey: () => Promise<string>;
  readonly now: () => Date;
  readonly log: Log;
  readonly metrics: CountMetrics;
}

/** The approvals item as read (fields/summary are written by the request handler, optional here). */
interface StoredItem extends ApprovalItem {
  readonly fields?: Record<string, Scalar>;
  readonly summary?: string;
  readonly outcome?: string;
  readonly decidedAt?: string;
  /** Epoch seconds when a request began deciding (status DECIDING). */
  readonly decidingAt?: number;
}

/** Reads and checks the configuration; the error names the variable. */
export function readApprovalEndpointConfig(env: Record<string, string | undefined>): ApprovalEndpointConfig {
  return {
    approvalsTable: requireEnv(env, 'APPROVALS_TABLE'),
    auditTable: requireEnv(env, 'AUDIT_TABLE'),
    signingSecretArn: requireEnv(env, 'SIGNING_SECRET_ARN'),
    workflowName: requireEnv(env, 'WORKFLOW_NAME'),
    eventBusName: requireEnv(env, 'EVENT_BUS_NAME'),
    eventSource: requireEnv(env, 'EVENT_SOURCE'),
    metricsNamespace: env.METRICS_NAMESPACE?.trim() || METRICS_NAMESPACE,
  };
}

// ---------------------------------------------------------------------------------------------
// Request parsing (pure)

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === lower && typeof v === 'string') return v;
  }
  for (const [k, v] of Object.entries(event.multiValueHeaders ?? {})) {
    if (k.toLowerCase() === lower && Array.isArray(v) && v.length > 0) return v.join(', ');
  }
  return undefined;
}

/** The approval id of an `/approvals/{id}` request; null for any other route. */
export function routeApprovalId(event: APIGatewayProxyEvent): string | null {
  const param = event.pathParameters?.id;
  if (event.resource === '/approvals/{id}' && typeof param === 'string') return param;
  const match = /(?:^|\/)approvals\/([^/]+)\/?$/.exec(event.path ?? '');
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/** The POST body as fields; undefined when it is too large, not an object, or of an unsupported type. */
export function parseBody(event: APIGatewayProxyEvent): Record<string, unknown> | undefined {
  if (event.body === null || event.body === undefined || event.body === '') return {};
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) return undefined;
  const contentType = (header(event, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
  const looksJson = raw.trimStart().startsWith('{');
  if (contentType === 'application/json' || (contentType === '' && looksJson)) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined;
    } catch {
      return undefined;
    }
  }
  if (contentType === 'application/x-www-form-urlencoded' || contentType === '') {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(raw)) if (!(k in fields)) fields[k] = v;
    return fields;
  }
  return undefined;
}

// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Comment: control (and bidi) characters removed except newlines, at most 1000 characters. Non-string → undefined. */
export function cleanComment(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') return undefined;
  return value.replace(/\r\n?/g, '\n').replace(CONTROL_EXCEPT_NEWLINE, '').trim().slice(0, MAX_COMMENT_LENGTH);
}

/** Name: control characters removed, whitespace collapsed, at most 100 characters. Non-string → undefined. */
export function cleanName(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') return undefined;
  return value.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim().slice(0, MAX_NAME_LENGTH).trim();
}

/**
 * Who decided: `iam:<arn>` (IAM-authorized API), `cognito:<email or sub>` (Cognito authorizer), else
 * `link:<stage>` (whoever held the signed link); plus ` (<name>)` when the form carried a name.
 */
/** The authenticated approver: the IAM caller, the Cognito user, or the link's stage. */
export function approverOf(event: APIGatewayProxyEvent, stage: ApprovalStage): string {
  const userArn = event.requestContext?.identity?.userArn;
  const claims = (event.requestContext?.authorizer as { claims?: Record<string, unknown> } | null | undefined)?.claims;
  const cognito = [claims?.email, claims?.sub].find((v) => typeof v === 'string' && v.trim() !== '') as string | undefined;
  return typeof userArn === 'string' && userArn.trim() !== ''
    ? `iam:${userArn.trim()}`
    : cognito
      ? `cognito:${cognito.trim()}`
      : `link:${stage}`;
}

// ---------------------------------------------------------------------------------------------
// Handler

function errorName(err: unknown): string {
  return (err as { name?: string } | null)?.name ?? 'Error';
}

/** An error for the log; `secret` (the task token) is cut out of the message should a service echo it. */
function errorForLog(err: unknown, secret?: string): Record<string, string> {
  const described = err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
  if (secret) described.message = described.message.split(secret).join('<task token>');
  return described;
}

export async function handle(
  event: APIGatewayProxyEvent, config: ApprovalEndpointConfig, deps: ApprovalEndpointDeps,
): Promise<APIGatewayProxyResult> {
  const asJson = prefersJson(header(event, 'accept'));
  const method = (event.httpMethod ?? '').toUpperCase();
  const rawId = routeApprovalId(event);
  const context = {
    method,
    approvalId: rawId === null ? undefined : rawId.slice(0, 64),
    sourceIp: event.requestContext?.identity?.sourceIp,
    userAgent: header(event, 'user-agent')?.slice(0, 200),
  };
  const answer = (kind: ResultKind, options?: Parameters<typeof resultResponse>[2]): HttpResponse => resultResponse(kind, asJson, options);
  /** A refused link: logged with the reason, counted. */
  const refuse = (kind: ResultKind, reason: string, extra: Record<string, unknown> = {}): HttpResponse => {
    deps.log.warn('approval link refused', { ...context, reason, ...extra });
    deps.metrics.count(METRIC.rejectedLinks, 1);
    return answer(kind);
  };

  if (rawId === null) {
    deps.log.warn('unknown route', { ...context, path: event.path?.slice(0, 200) });
    return answer('route-not-found');
  }
  if (method !== 'GET' && method !== 'POST') {
    deps.log.warn('method not allowed', context);
    return answer('method-not-allowed', { headers: { Allow: 'GET, POST' } });
  }

  try {
    const fields = method === 'GET' ? { ...(event.queryStringParameters ?? {}) } as Record<string, unknown> : parseBody(event);
    if (fields === undefined) return refuse('malformed', 'unreadable body', { contentType: header(event, 'content-type')?.slice(0, 100) });

    const nowDate = deps.now();
    const now = Math.floor(nowDate.getTime() / 1000);
    const key = await deps.signingKey();
    const link = verifyLink(key, { approvalId: rawId, action: fields.action, exp: fields.exp, sig: fields.sig }, now);
    if (link.result === 'malformed') return refuse('malformed', `malformed ${link.detail}`);
    if (link.result === 'forged') return refuse('forged', 'signature mismatch');
    if (link.result === 'expired') return refuse('expired', 'link expired', { exp: link.exp });

    const got = await deps.ddb.send(new GetCommand({ TableName: config.approvalsTable, Key: { approvalId: link.approvalId }, ConsistentRead: true }));
    const item = got.Item as StoredItem | undefined;
    if (!item) return refuse('not-found', 'no such approval');
    const logContext = { ...context, action: link.action, executionId: item.executionId, stage: item.stage };
    if (item.status === 'CLOSED') {
      deps.log.info('approval refused: closed', { ...logContext, reason: 'closed' });
      return answer('closed');
    }
    // A DECIDING record older than the function can live is a decision that crashed half-way
    // (before or while calling Step Functions): it may be taken over.
    const staleDeciding = item.status === 'DECIDING' && (item.decidingAt ?? now) < now - STALE_DECIDING_SECONDS;
    if (item.status !== 'PENDING' && !staleDeciding) {
      deps.log.info('approval refused: already decided', { ...logContext, reason: 'already decided', status: item.status });
      const details: Record<string, string> = item.status === 'DECIDED' && item.outcome ? { outcome: item.outcome, decidedAt: item.decidedAt ?? '' } : {};
      return answer('already-decided', { details });
    }
    if (item.expiresAt <= now) {
      deps.log.info('approval refused: expired', { ...logContext, reason: 'approval expired' });
      return answer('expired');
    }

    if (method === 'GET') {
      return confirmResponse({
        approvalId: link.approvalId,
        action: link.action,
        exp: link.exp,
        sig: fields.sig as string,
        stage: item.stage,
        reason: item.reason,
        subjectKey: item.subjectKey,
        fields: item.fields ?? {},
        summary: item.summary ?? '',
        expiresAt: item.expiresAt,
      }, asJson);
    }

    const comment = cleanComment(fields.comment);
    const name = cleanName(fields.name);
    if (comment === undefined || name === undefined) return refuse('malformed', 'comment and name must be strings');

    if (link.action === 'heartbeat') return await heartbeat(item, logContext, { config, deps, answer });
    return await decide(item, link.action, approverOf(event, item.stage), name, comment, nowDate, logContext, { config, deps, answer });
  } catch (err) {
    deps.log.error('approval request could not be handled; nothing was decided', { ...context, error: errorForLog(err) });
    return answer('try-again');
  }
}

interface Ctx {
  readonly config: ApprovalEndpointConfig;
  readonly deps: ApprovalEndpointDeps;
  readonly answer: (kind: ResultKind, options?: Parameters<typeof resultResponse>[2]) => HttpResponse;
}

async function heartbeat(item: StoredItem, logContext: Record<string, unknown>, { deps, answer }: Ctx): Promise<HttpResponse> {
  try {
    await deps.sfn.send(new SendTaskHeartbeatCommand({ taskToken: item.taskToken }));
  } catch (err) {
    const name = errorName(err);
    if (TASK_CLOSED_ERRORS.includes(name)) {
      deps.log.info('heartbeat refused: the workflow no longer waits', { ...logContext, reason: name });
      return answer('closed');
    }
    deps.log.error('heartbeat could not be delivered', { ...logContext, error: errorForLog(err, item.taskToken) });
    return answer('try-again', { message: 'The heartbeat could not be delivered right now. Please try again in a minute.' });
  }
  deps.log.info('heartbeat delivered', logContext);
  return answer('heartbeat');
}

async function decide(
  item: StoredItem, action: Exclude<LinkAction, 'heartbeat'>, approver: string, approverName: string, comment: string, nowDate: Date,
  logContext: Record<string, unknown>, { config, deps, answer }: Ctx,
): Promise<HttpResponse> {
  const now = Math.floor(nowDate.getTime() / 1000);
  const Key = { approvalId: item.approvalId };
  try {
    await deps.ddb.send(new UpdateCommand({
      TableName: config.approvalsTable,
      Key,
      UpdateExpression: 'SET #status = :deciding, decidingAt = :now',
      ConditionExpression: '(#status = :pending OR (#status = :deciding AND decidingAt < :stale)) AND expiresAt > :now',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':deciding': 'DECIDING', ':pending': 'PENDING', ':now': now, ':stale': now - STALE_DECIDING_SECONDS },
    }));
  } catch (err) {
    if (errorName(err) !== 'ConditionalCheckFailedException') throw err;
    deps.log.info('approval refused: already decided (concurrent decision)', { ...logContext, reason: 'already decided' });
    return answer('already-decided');
  }

  const decision: ApprovalDecision = {
    outcome: action === 'approve' ? 'APPROVED' : 'REJECTED',
    approvalId: item.approvalId,
    approver,
    approverName,
    comment,
    decidedAt: nowDate.toISOString(),
  };
  const fromDeciding = { ConditionExpression: '#status = :deciding', ExpressionAttributeNames: { '#status': 'status' } };
  try {
    if (decision.outcome === 'APPROVED') {
      await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: item.taskToken, output: JSON.stringify(decision) }));
    } else {
      await deps.sfn.send(new SendTaskFailureCommand({ taskToken: item.taskToken, error: APPROVAL_REJECTED_ERROR, cause: JSON.stringify(decision) }));
    }
  } catch (err) {
    const name = errorName(err);
    if (TASK_CLOSED_ERRORS.includes(name)) {
      await deps.ddb.send(new UpdateCommand({
        TableName: config.approvalsTable,
        Key,
        UpdateExpression: 'SET #status = :closed, closedAt = :now, closedReason = :reason REMOVE decidingAt',
        ...fromDeciding,
        ExpressionAttributeValues: { ':closed': 'CLOSED', ':deciding': 'DECIDING', ':now': now, ':reason': name },
      })).catch((e) => deps.log.error('could not mark the approval CLOSED', { ...logContext, error: errorForLog(e, item.taskToken) }));
      deps.log.info('approval refused: the workflow no longer waits', { ...logContext, reason: name });
      // a record taken over from a crashed request may have been decided by that request
      const takenOver = item.status === 'DECIDING';
      return answer('closed', {
        message: takenOver
          ? 'The workflow is no longer waiting for this approval: an earlier attempt may already have decided it. See the audit trail.'
          : name === 'TaskTimedOut'
            ? 'The approval timed out: the workflow stopped waiting for it. Nothing was decided.'
            : 'The workflow is no longer waiting for this approval. Nothing was decided.',
      });
    }
    await deps.ddb.send(new UpdateCommand({
      TableName: config.approvalsTable,
      Key,
      UpdateExpression: 'SET #status = :pending REMOVE decidingAt',
      ...fromDeciding,
      ExpressionAttributeValues: { ':pending': 'PENDING', ':deciding': 'DECIDING' },
    })).catch((e) => deps.log.error('could not revert the approval to PENDING: it stays DECIDING', { ...logContext, error: errorForLog(e, item.taskToken) }));
    deps.log.error('decision could not be delivered to Step Functions; reverted to PENDING', { ...logContext, error: errorForLog(err, item.taskToken) });
    return answer('try-again');
  }

  // Decided: Step Functions has the decision. Bookkeeping failures are logged, never reported as
  // "not decided" (a retry would meet 409).
  const bookkeeping: Array<[string, () => Promise<unknown>]> = [
    ['mark DECIDED', () => deps.ddb.send(new UpdateCommand({
      TableName: config.approvalsTable,
      Key,
      UpdateExpression: 'SET #status = :decided, outcome = :outcome, approver = :approver, approverName = :approverName, #comment = :comment, '
        + 'decidedAt = :decidedAt REMOVE decidingAt',
      ...fromDeciding,
      ExpressionAttributeNames: { '#status': 'status', '#comment': 'comment' },
      ExpressionAttributeValues: {
        ':decided': 'DECIDED',
        ':deciding': 'DECIDING',
        ':outcome': decision.outcome,
        ':approver': approver,
        ':approverName': approverName,
        ':comment': comment,
        ':decidedAt': decision.decidedAt,
      },
    }))],
    ['write audit record', () => deps.ddb.send(new PutCommand({
      TableName: config.auditTable,
      Item: {
        executionId: item.executionId,
        recordId: `APPROVAL#${item.approvalId}`,
        approvalId: item.approvalId,
        outcome: decision.outcome,
        approver,
        approverName,
        comment,
        decidedAt: decision.decidedAt,
        stage: item.stage,
        reason: item.reason,
        subjectKey: item.subjectKey,
      },
    }))],
    ['publish Approval Decided', async () => {
      const res = await deps.events.send(new PutEventsCommand({
        Entries: [{
          EventBusName: config.eventBusName,
          Source: config.eventSource,
          DetailType: 'Approval Decided',
          Detail: JSON.stringify({
            workflow: config.workflowName,
            executionId: item.executionId,
            approvalId: item.approvalId,
            stage: item.stage,
            outcome: decision.outcome,
            approver,
            decidedAt: decision.decidedAt,
          }),
        }],
      }));
      if ((res.FailedEntryCount ?? 0) > 0) throw new Error(`PutEvents rejected the event: ${res.Entries?.find((e) => e.ErrorCode)?.ErrorCode ?? 'unknown'}`);
    }],
  ];
  for (const [step, run] of bookkeeping) {
    try {
      await run();
    } catch (err) {
      deps.log.error(`decision delivered but ${step} failed`, { ...logContext, outcome: decision.outcome, error: errorForLog(err, item.taskToken) });
    }
  }
  deps.metrics.count(METRIC.approvalsDecided, 1);
  deps.log.info('approval decided', { ...logContext, outcome: decision.outcome, approver });
  return answer('decided', {
    message: decision.outcome === 'APPROVED' ? 'Approved: the workflow continues.' : 'Rejected: the workflow records the rejection.',
    details: {
      outcome: decision.outcome,
      approver,
      ...(approverName ? { name: approverName } : {}),
      decidedAt: decision.decidedAt,
      ...(comment ? { comment } : {}),
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Lambda wiring

const ddb = documentClient();
// One attempt: a retried SendTaskSuccess that had in fact succeeded would answer TaskTimedOut and be
// reported as "nothing decided"; throttling answers 503 "try again" instead.
const sfn = new SFNClient({ maxAttempts: 1 });
const events = new EventBridgeClient({});
const secrets = new SecretsManagerClient({});

let runtime: { config: ApprovalEndpointConfig; deps: ApprovalEndpointDeps; metrics: Metrics } | undefined;

function init(): { config: ApprovalEndpointConfig; deps: ApprovalEndpointDeps; metrics: Metrics } {
  if (runtime) return runtime;
  const config = readApprovalEndpointConfig(process.env);
  const logger = new Logger({ serviceName: 'agent-workflow-approval-endpoint' });
  const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: 'agent-workflow-approval-endpoint' });
  // exactly {Workflow}: Powertools adds a `service` dimension by default, which the construct's alarms do not name
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ Workflow: config.workflowName });
  const signingKey = signingKeyLoader(secrets, config.signingSecretArn);
  runtime = {
    config,
    metrics,
    deps: {
      ddb,
      sfn,
      events,
      signingKey,
      now: () => new Date(),
      log: structuredLog(logger),
      metrics: { count: (name, value) => metrics.addMetric(name, MetricUnit.Count, value) },
    },
  };
  return runtime;
}

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const { config, deps, metrics } = init();
  try {
    return await handle(event, config, deps);
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

/** For tests: forget the configuration read at cold start (and the cached signing key). */
export function resetForTests(): void {
  runtime = undefined;
}
