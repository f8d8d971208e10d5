/**
 * Approval endpoint (API Gateway REST proxy integration).
 *
 *   GET  /approvals/{id}?action=approve|reject|heartbeat&exp=<epoch s>&sig=<key id>.<b64url> (or a v1 <b64url>)
 *        → confirm page. Changes nothing (mail scanners follow GET links).
 *   POST /approvals/{id}  (form-urlencoded or JSON: action, exp, sig, comment?, name?)
 *        → decides once: PENDING → DECIDING (conditional) → attempt record (write-ahead) →
 *          SendTaskSuccess/SendTaskFailure → DECIDED + APPROVAL# audit record + event.
 *          When Step Functions refuses the call (4xx) nothing was applied: back to PENDING (503).
 *          When it answers TaskTimedOut/TaskDoesNotExist, or an error that leaves open whether the
 *          call was applied (5xx, network), the execution's history says what happened: applied
 *          (bookkeeping as for a delivered decision), not applied (PENDING while the execution
 *          runs, else CLOSED), or unknown (the approval stays DECIDING; a request after
 *          STALE_DECIDING_SECONDS takes it over and asks again).
 *
 * Refusals: malformed 400, comment or name over its limit 400, forged 403, unknown 404, already
 * decided 409, expired/closed/signed with a retired key 410. Every POST leaves an attempt record in the audit table (see
 * approval-audit.ts), whatever its outcome.
 * Never logged: the signature, the task token, the signing key.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand, GetExecutionHistoryCommand, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  AttemptAttribution, AttemptFacts, AttemptOutcome, attemptRecord, decisionInEvent, sameDecision,
} from './approval-audit';
import { confirmResponse, HttpResponse, MAX_COMMENT_LENGTH, MAX_NAME_LENGTH, prefersJson, resultResponse, ResultKind } from './approval-page';
import { APPROVAL_REJECTED_ERROR, ApprovalDecision, ApprovalItem, ApprovalStage, METRIC, METRICS_NAMESPACE, Scalar } from './contracts';
import { LinkAction, SigningKeySource, verifyLink } from './link-signing';
import { structuredLog } from './log';
import { signingKeyLoader } from './signing-key';
import { eventText } from './untrusted-text';
import { documentClient } from '../../core/runtime/document-client';
import { requireEnv } from '../../core/runtime/env';
import { StructuredLog } from '../../core/runtime/log';

/** A DECIDING record older than this (twice the function timeout) belongs to a crashed request. */
export const STALE_DECIDING_SECONDS = 60;

/** Step Functions errors meaning the task no longer waits for this token. */
export const TASK_CLOSED_ERRORS = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];
/** Largest request body accepted (bytes after base64 decoding). */
export const MAX_BODY_BYTES = 16 * 1024;
/** History events per GetExecutionHistory page (the API's largest page). */
export const HISTORY_PAGE_SIZE = 1000;
/** Pages of history read back from the newest event before the answer is "unknown". */
export const MAX_HISTORY_PAGES = 5;
/** Events older than the approval's creation minus this margin (clock skew) cannot be its decision. */
export const HISTORY_CLOCK_SKEW_SECONDS = 300;

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
  /** Sends the decision: one attempt, no SDK retry (see the wiring below). */
  readonly sfn: SFNClient;
  /** Reads an execution's history and status (retried by the SDK). @default sfn */
  readonly sfnReads?: SFNClient;
  readonly events: EventBridgeClient;
  /** The link-signing keys: current and previous (cached), and a look-up of any other key id a link names. */
  readonly signingKey: SigningKeySource;
  readonly now: () => Date;
  readonly log: Log;
  readonly metrics: CountMetrics;
}

/** The approvals item as read (fields/summary are written by the request handler, optional here). */
interface StoredItem extends ApprovalItem {
  readonly fields?: Record<string, Scalar>;
  readonly summary?: string;
  readonly outcome?: ApprovalDecision['outcome'];
  readonly approver?: string;
  readonly decidedAt?: string;
  readonly closedReason?: string;
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

/**
 * Comment: CR LF and CR become LF, control (and bidi) characters are removed except newlines, and
 * the ends trimmed; never cut (a comment over MAX_COMMENT_LENGTH is refused). Non-string → undefined.
 * Its length (UTF-16 code units) is what a browser's `maxlength` counts.
 */
export function cleanComment(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') return undefined;
  return value.replace(/\r\n?/g, '\n').replace(CONTROL_EXCEPT_NEWLINE, '').trim();
}

/** Name: control characters removed, whitespace collapsed; never cut (over MAX_NAME_LENGTH it is refused). Non-string → undefined. */
export function cleanName(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') return undefined;
  return value.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
}

/** The authenticated caller: `iam:<arn>` (IAM-authorized API), `cognito:<email or sub>` (Cognito authorizer), else undefined. */
export function identityOf(event: APIGatewayProxyEvent): string | undefined {
  const userArn = event.requestContext?.identity?.userArn;
  const claims = (event.requestContext?.authorizer as { claims?: Record<string, unknown> } | null | undefined)?.claims;
  const cognito = [claims?.email, claims?.sub].find((v) => typeof v === 'string' && v.trim() !== '') as string | undefined;
  if (typeof userArn === 'string' && userArn.trim() !== '') return `iam:${userArn.trim()}`;
  return cognito ? `cognito:${cognito.trim()}` : undefined;
}

/**
 * Who decided: the IAM caller or the Cognito user (identityOf), else `link:<stage>` (whoever held the
 * signed link). The name typed into the form is kept apart (approverName).
 */
export function approverOf(event: APIGatewayProxyEvent, stage: ApprovalStage): string {
  return identityOf(event) ?? `link:${stage}`;
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

/** The attempt-record outcome of each answer, unless the handler names another (AttemptAudit.set). */
const OUTCOME_OF: Partial<Record<ResultKind, AttemptOutcome>> = {
  'decided': 'applied',
  'heartbeat': 'heartbeat',
  'already-decided': 'duplicate',
  'expired': 'expired',
  'closed': 'closed',
  'forged': 'forged',
  'malformed': 'malformed',
  'not-found': 'not-found',
  'retired-key': 'retired-key',
  'try-again': 'not-applied',
  'not-applied': 'not-applied',
  'unknown': 'unknown',
};

/**
 * The attempt record of one POST to an approval (audit table; shape in approval-audit.ts).
 *
 * Order, and what a failure to write it does:
 * - A decision writes its record BEFORE the decision is sent (`in-progress`, begin) and again with
 *   the outcome after (finish, same key). If the first write fails, the decision is not sent
 *   (503, nothing decided): no decision reaches the workflow without a trace in the audit table.
 * - Once the decision is sent, a failed second write is logged and never changes the answer: the
 *   decision stands, and the `in-progress` record and the APPROVAL# record still show it.
 * - Refusals and heartbeats decide nothing: their record is written once, after the answer is
 *   known; a failure is logged (the answer is unchanged: nothing was decided either way).
 */
class AttemptAudit {
  private readonly at: Date;
  private readonly nonce = randomUUID().replace(/-/g, '').slice(0, 16);
  private attribution?: AttemptAttribution;
  private approver: string;
  private action?: string;
  private comment?: string;
  private approverName?: string;
  private kind?: ResultKind;
  private outcome?: AttemptOutcome;
  private detail?: string;
  private decision?: AttemptFacts['decision'];
  private authenticId?: string;

  constructor(
    private readonly event: APIGatewayProxyEvent,
    private readonly claimedApprovalId: string,
    private readonly config: ApprovalEndpointConfig,
    private readonly deps: ApprovalEndpointDeps,
  ) {
    this.at = deps.now();
    // a link no approval vouches for names no stage
    this.approver = identityOf(event) ?? 'link';
  }

  /** What the request claims (action, comment, name), as received. */
  public claim(fields: Record<string, unknown>): void {
    const text = (value: unknown, clean: (v: unknown) => string | undefined): string | undefined =>
      value === undefined || value === null ? undefined : clean(value) ?? JSON.stringify(value).slice(0, MAX_BODY_BYTES);
    this.action = typeof fields.action === 'string' ? fields.action : undefined;
    this.comment = text(fields.comment, cleanComment);
    this.approverName = text(fields.name, cleanName);
  }

  /** The approval the attempt concerns (its item was read). */
  public attribute(item: StoredItem): void {
    this.attribution = { executionId: item.executionId, approvalId: item.approvalId, stage: item.stage };
    this.approver = approverOf(this.event, item.stage);
  }

  /**
   * The link is authentic but refused (expired, or signed with a retired key: verifyLink checks the
   * signature first): its approval is looked up when the record is written, so the attempt goes to
   * its execution's records.
   */
  public linkAuthentic(approvalId: string): void {
    this.authenticId = approvalId;
  }

  /** The answer given (its outcome, unless one was set). */
  public answered(kind: ResultKind): void {
    this.kind = kind;
  }

  public set(outcome: AttemptOutcome, detail?: string, decision?: AttemptFacts['decision']): void {
    this.outcome = outcome;
    if (detail !== undefined) this.detail = detail;
    if (decision !== undefined) this.decision = decision;
  }

  /** A reason, unless one was given already. */
  public note(detail: string): void {
    this.detail ??= detail;
  }

  /** Writes the record as `in-progress` (before the decision is sent); throws when it cannot be written. */
  public async begin(): Promise<void> {
    await this.deps.ddb.send(new PutCommand({ TableName: this.config.auditTable, Item: attemptRecord(this.facts('in-progress')) }));
  }

  /** Writes the record with its outcome; a failure is logged. */
  public async finish(httpStatus: number): Promise<void> {
    const byKind = this.kind === undefined ? 'error' : OUTCOME_OF[this.kind] ?? 'refused';
    const outcome = this.outcome !== undefined && this.outcome !== 'in-progress' ? this.outcome : byKind;
    if (this.attribution === undefined && this.authenticId !== undefined) await this.attributeById(this.authenticId);
    try {
      await this.deps.ddb.send(new PutCommand({ TableName: this.config.auditTable, Item: attemptRecord(this.facts(outcome, httpStatus)) }));
    } catch (err) {
      this.deps.log.error('the attempt record could not be written to the audit table', {
        approvalId: this.attribution?.approvalId ?? this.claimedApprovalId.slice(0, 64),
        executionId: this.attribution?.executionId,
        outcome,
        httpStatus,
        error: errorForLog(err),
      });
    }
  }

  /** Attributes the attempt by an authentic approval id; a failed read leaves it unattributed. */
  private async attributeById(approvalId: string): Promise<void> {
    try {
      const got = await this.deps.ddb.send(new GetCommand({ TableName: this.config.approvalsTable, Key: { approvalId } }));
      if (got.Item) this.attribute(got.Item as StoredItem);
    } catch (err) {
      this.deps.log.warn('the approval of a refused link could not be read; its attempt is recorded unattributed', { approvalId, error: errorForLog(err) });
    }
  }

  private facts(outcome: AttemptOutcome, httpStatus?: number): AttemptFacts {
    return {
      at: this.at,
      nonce: this.nonce,
      outcome,
      httpStatus,
      action: this.action,
      claimedApprovalId: this.claimedApprovalId,
      attribution: this.attribution,
      approver: this.approver,
      approverName: this.approverName,
      comment: this.comment,
      sourceIp: this.event.requestContext?.identity?.sourceIp,
      userAgent: header(this.event, 'user-agent'),
      requestId: this.event.requestContext?.requestId,
      detail: this.detail,
      decision: this.decision,
    };
  }
}

export async function handle(
  event: APIGatewayProxyEvent, config: ApprovalEndpointConfig, deps: ApprovalEndpointDeps,
): Promise<APIGatewayProxyResult> {
  const method = (event.httpMethod ?? '').toUpperCase();
  const rawId = routeApprovalId(event);
  // every POST to an approval is an attempted decision (or heartbeat): audited whatever its outcome
  const attempt = method === 'POST' && rawId !== null ? new AttemptAudit(event, rawId, config, deps) : undefined;
  const response = await respond(event, config, deps, attempt);
  await attempt?.finish(response.statusCode);
  return response;
}

async function respond(
  event: APIGatewayProxyEvent, config: ApprovalEndpointConfig, deps: ApprovalEndpointDeps, attempt: AttemptAudit | undefined,
): Promise<HttpResponse> {
  const asJson = prefersJson(header(event, 'accept'));
  const method = (event.httpMethod ?? '').toUpperCase();
  const rawId = routeApprovalId(event);
  const context = {
    method,
    approvalId: rawId === null ? undefined : rawId.slice(0, 64),
    sourceIp: event.requestContext?.identity?.sourceIp,
    userAgent: header(event, 'user-agent')?.slice(0, 200),
  };
  const answer = (kind: ResultKind, options?: Parameters<typeof resultResponse>[2]): HttpResponse => {
    attempt?.answered(kind);
    return resultResponse(kind, asJson, options);
  };
  /** A refused link: logged with the reason, counted, audited. */
  const refuse = (kind: ResultKind, reason: string, extra: Record<string, unknown> = {}): HttpResponse => {
    deps.log.warn('approval link refused', { ...context, reason, ...extra });
    deps.metrics.count(METRIC.rejectedLinks, 1);
    attempt?.note(reason);
    if ((kind === 'expired' || kind === 'retired-key') && rawId !== null) attempt?.linkAuthentic(rawId);
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
    attempt?.claim(fields);

    const nowDate = deps.now();
    const now = Math.floor(nowDate.getTime() / 1000);
    const link = await verifyLink(deps.signingKey, { approvalId: rawId, action: fields.action, exp: fields.exp, sig: fields.sig }, now);
    if (link.result === 'malformed') return refuse('malformed', `malformed ${link.detail}`);
    if (link.result === 'forged') return refuse('forged', 'signature mismatch');
    if (link.result === 'retired') return refuse('retired-key', 'signed with a retired key', { kid: link.kid });
    if (link.result === 'expired') return refuse('expired', 'link expired', { exp: link.exp });

    const got = await deps.ddb.send(new GetCommand({ TableName: config.approvalsTable, Key: { approvalId: link.approvalId }, ConsistentRead: true }));
    const item = got.Item as StoredItem | undefined;
    if (!item) return refuse('not-found', 'no such approval');
    attempt?.attribute(item);
    const logContext = { ...context, action: link.action, executionId: item.executionId, stage: item.stage };
    if (item.status === 'CLOSED') {
      deps.log.info('approval refused: closed', { ...logContext, reason: 'closed' });
      attempt?.note(`approval CLOSED${item.closedReason ? ` (${item.closedReason})` : ''}`);
      return answer('closed');
    }
    // A DECIDING record older than the function can live is a decision that crashed half-way
    // (before or while calling Step Functions), or whose result could not be read: it may be taken over.
    const staleDeciding = item.status === 'DECIDING' && (item.decidingAt ?? now) < now - STALE_DECIDING_SECONDS;
    if (item.status === 'DECIDING' && !staleDeciding) {
      deps.log.info('approval refused: a decision is in progress', { ...logContext, reason: 'decision in progress' });
      attempt?.set('duplicate', 'a decision is in progress');
      return answer('already-decided', {
        message: 'A decision for this approval is being delivered or verified right now; this request changed nothing. Open the link again in a minute to see the result.',
      });
    }
    if (item.status !== 'PENDING' && !staleDeciding) {
      deps.log.info('approval refused: already decided', { ...logContext, reason: 'already decided', status: item.status });
      const decided = item.status === 'DECIDED' && item.outcome;
      attempt?.set('duplicate', 'already decided', decided ? { outcome: item.outcome!, decidedAt: item.decidedAt ?? '', approver: item.approver ?? '' } : undefined);
      const details: Record<string, string> = decided ? { outcome: item.outcome!, decidedAt: item.decidedAt ?? '' } : {};
      return answer('already-decided', { details });
    }
    if (item.expiresAt <= now) {
      deps.log.info('approval refused: expired', { ...logContext, reason: 'approval expired' });
      attempt?.note('approval expired');
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

    if (link.action === 'heartbeat') return await heartbeat(item, logContext, { config, deps, answer, attempt });
    // Over its limit, a comment or name is refused whole (never cut): nothing is decided.
    for (const [field, value, limit] of [['comment', comment, MAX_COMMENT_LENGTH], ['name', name, MAX_NAME_LENGTH]] as const) {
      if (value.length <= limit) continue;
      deps.log.info(`approval refused: ${field} too long`, { ...logContext, reason: `${field} too long`, length: value.length, limit });
      attempt?.set(`${field}-too-long`, `${field} of ${value.length} characters, at most ${limit}`);
      return answer('too-long', {
        message: `The ${field} has ${value.length} characters; at most ${limit} are accepted. Nothing was decided: shorten it and send the form again.`,
        details: { field, limit, received: value.length },
      });
    }
    return await decide(item, link.action, approverOf(event, item.stage), name, comment, nowDate, logContext, { config, deps, answer, attempt });
  } catch (err) {
    deps.log.error('approval request could not be handled; nothing was decided', { ...context, error: errorForLog(err) });
    attempt?.set('error', `request failed before anything was sent: ${errorName(err)}`);
    return answer('try-again');
  }
}

interface Ctx {
  readonly config: ApprovalEndpointConfig;
  readonly deps: ApprovalEndpointDeps;
  readonly answer: (kind: ResultKind, options?: Parameters<typeof resultResponse>[2]) => HttpResponse;
  readonly attempt?: AttemptAudit;
}

async function heartbeat(item: StoredItem, logContext: Record<string, unknown>, { deps, answer, attempt }: Ctx): Promise<HttpResponse> {
  try {
    await deps.sfn.send(new SendTaskHeartbeatCommand({ taskToken: item.taskToken }));
  } catch (err) {
    const name = errorName(err);
    if (TASK_CLOSED_ERRORS.includes(name)) {
      deps.log.info('heartbeat refused: the workflow no longer waits', { ...logContext, reason: name });
      attempt?.set('closed', `heartbeat: ${name}`);
      return answer('closed');
    }
    deps.log.error('heartbeat could not be delivered', { ...logContext, error: errorForLog(err, item.taskToken) });
    attempt?.set('not-applied', `heartbeat: ${name}`);
    return answer('try-again', { message: 'The heartbeat could not be delivered right now. Please try again in a minute.' });
  }
  deps.log.info('heartbeat delivered', logContext);
  return answer('heartbeat');
}

/**
 * Moves the approval out of DECIDING (only from DECIDING): `set` and `values` give the new state. A
 * failure is logged with `failure` and leaves it DECIDING, for the monitor's re-check.
 */
async function leaveDeciding(
  item: StoredItem, set: string, values: Record<string, unknown>, failure: string, logContext: Record<string, unknown>, { config, deps }: Ctx,
): Promise<void> {
  try {
    await deps.ddb.send(new UpdateCommand({
      TableName: config.approvalsTable,
      Key: { approvalId: item.approvalId },
      UpdateExpression: `SET ${set} REMOVE decidingAt`,
      ConditionExpression: '#status = :deciding',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ...values, ':deciding': 'DECIDING' },
    }));
  } catch (e) {
    deps.log.error(failure, { ...logContext, error: errorForLog(e, item.taskToken) });
  }
}

/** The approval back to PENDING (from DECIDING): nothing was applied and the workflow still waits. */
async function revertToPending(item: StoredItem, logContext: Record<string, unknown>, ctx: Ctx): Promise<void> {
  await leaveDeciding(item, '#status = :pending', { ':pending': 'PENDING' }, 'could not revert the approval to PENDING: it stays DECIDING', logContext, ctx);
}

/** The approval CLOSED (from DECIDING): the workflow no longer waits for it. */
async function closeApproval(
  item: StoredItem, reason: string, nowSeconds: number, logContext: Record<string, unknown>, ctx: Ctx,
): Promise<void> {
  await leaveDeciding(item, '#status = :closed, closedAt = :now, closedReason = :reason',
    { ':closed': 'CLOSED', ':now': nowSeconds, ':reason': reason }, 'could not mark the approval CLOSED', logContext, ctx);
}

async function decide(
  item: StoredItem, action: Exclude<LinkAction, 'heartbeat'>, approver: string, approverName: string, comment: string, nowDate: Date,
  logContext: Record<string, unknown>, ctx: Ctx,
): Promise<HttpResponse> {
  const { config, deps, answer, attempt } = ctx;
  const now = Math.floor(nowDate.getTime() / 1000);
  try {
    await deps.ddb.send(new UpdateCommand({
      TableName: config.approvalsTable,
      Key: { approvalId: item.approvalId },
      UpdateExpression: 'SET #status = :deciding, decidingAt = :now',
      ConditionExpression: '(#status = :pending OR (#status = :deciding AND decidingAt < :stale)) AND expiresAt > :now',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':deciding': 'DECIDING', ':pending': 'PENDING', ':now': now, ':stale': now - STALE_DECIDING_SECONDS },
    }));
  } catch (err) {
    if (errorName(err) !== 'ConditionalCheckFailedException') throw err;
    deps.log.info('approval refused: already decided (concurrent decision)', { ...logContext, reason: 'already decided' });
    attempt?.set('duplicate', 'another request decided first');
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
  // write-ahead (see AttemptAudit): no record, no decision
  attempt?.set('in-progress', undefined, { outcome: decision.outcome, decidedAt: decision.decidedAt, approver });
  try {
    await attempt?.begin();
  } catch (err) {
    deps.log.error('the attempt could not be recorded in the audit table; the decision was not sent', { ...logContext, error: errorForLog(err, item.taskToken) });
    await revertToPending(item, logContext, ctx);
    attempt?.set('not-applied', `not sent: the audit table could not be written (${errorName(err)})`);
    return answer('try-again', { message: 'The decision could not be recorded in the audit trail, so it was not sent. Nothing was decided: please try again in a minute.' });
  }
  let failure: { readonly error: unknown } | undefined;
  try {
    if (decision.outcome === 'APPROVED') {
      await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: item.taskToken, output: JSON.stringify(decision) }));
    } else {
      await deps.sfn.send(new SendTaskFailureCommand({ taskToken: item.taskToken, error: APPROVAL_REJECTED_ERROR, cause: JSON.stringify(decision) }));
    }
  } catch (error) {
    failure = { error };
  }
  // From here on the decision may be in the workflow: nothing below may answer "nothing was decided" by accident.
  try {
    return failure === undefined
      ? await recordDecided(item, decision, 'delivered', logContext, ctx)
      : await settleFailedDelivery(item, decision, failure.error, now, logContext, ctx);
  } catch (err) {
    deps.log.error('the request failed after the decision was sent; its outcome is unknown', { ...logContext, error: errorForLog(err, item.taskToken) });
    attempt?.set('unknown', `failed after the decision was sent: ${errorName(err)}`);
    return answer('unknown');
  }
}

/**
 * The decision met an error. Step Functions' own refusal (a 4xx other than "the task is closed")
 * applied nothing. Any other error may come after the call was applied (5xx, network), and
 * TaskTimedOut / TaskDoesNotExist may answer a token an earlier request of ours already used (an
 * ambiguous error, or a request that crashed while DECIDING): the execution's history tells.
 */
async function settleFailedDelivery(
  item: StoredItem, decision: ApprovalDecision, err: unknown, now: number, logContext: Record<string, unknown>, ctx: Ctx,
): Promise<HttpResponse> {
  const { deps, answer, attempt } = ctx;
  const name = errorName(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const closedError = TASK_CLOSED_ERRORS.includes(name);
  const error = errorForLog(err, item.taskToken);
  if (!closedError && status !== undefined && status >= 400 && status < 500) {
    await revertToPending(item, logContext, ctx);
    deps.log.error('decision could not be delivered to Step Functions; reverted to PENDING', { ...logContext, error });
    attempt?.set('not-applied', `Step Functions refused the request: ${name}`);
    return answer('try-again');
  }
  // No request can ever have been accepted with a token that is not one: nothing was decided.
  if (name === 'InvalidToken') {
    await closeApproval(item, name, now, logContext, ctx);
    deps.log.info('approval refused: the workflow no longer waits', { ...logContext, reason: name });
    attempt?.set('closed', name);
    return answer('closed', { message: 'The workflow is no longer waiting for this approval. Nothing was decided.' });
  }

  deps.log.warn(closedError
    ? 'the workflow no longer waits for this approval; reading the execution history for an earlier decision'
    : 'the decision may or may not have been applied; reading the execution history', { ...logContext, error });
  const truth = await readTruth(item, deps);
  if (truth.kind === 'applied') {
    const own = sameDecision(truth.decision, decision);
    deps.log.info(own ? 'the execution history shows the decision was applied' : 'the execution history shows an earlier decision', {
      ...logContext, outcome: truth.decision.outcome, decidedAt: truth.decision.decidedAt, after: name,
    });
    return recordDecided(item, truth.decision, own ? 'recovered' : 'earlier', logContext, ctx);
  }
  if (truth.kind === 'absent' && !closedError && truth.executionStatus === 'RUNNING') {
    // Known: the history has no decision for this approval, and the workflow still waits.
    await revertToPending(item, logContext, ctx);
    deps.log.error('decision not applied (the execution history has none); reverted to PENDING', { ...logContext, error });
    attempt?.set('not-applied', `${name}; the execution history shows no decision`);
    return answer('not-applied');
  }
  if (truth.kind === 'absent') {
    // Known: no decision, and the workflow no longer waits (the task closed, or the execution ended).
    const reason = closedError ? name : `execution ${truth.executionStatus}`;
    await closeApproval(item, reason, now, logContext, ctx);
    deps.log.info('approval refused: the workflow no longer waits', { ...logContext, reason });
    attempt?.set('closed', `${name}; the execution history shows no decision`);
    return answer('closed', {
      message: name === 'TaskTimedOut'
        ? 'The approval timed out: the workflow stopped waiting for it. Nothing was decided.'
        : 'The workflow is no longer waiting for this approval. Nothing was decided.',
    });
  }
  if (truth.permanent) {
    // The execution (and its history) is gone: nothing waits any more, and nothing can be learnt.
    await closeApproval(item, closedError ? name : truth.reason, now, logContext, ctx);
    deps.log.error('the execution history cannot be read; the approval is CLOSED, its outcome unknown', { ...logContext, reason: truth.reason, error });
    attempt?.set(closedError ? 'closed' : 'unknown', `${name}; the execution history cannot be read (${truth.reason})`);
    return answer('closed', {
      message: closedError
        ? 'The workflow is no longer waiting for this approval, so this request decided nothing. Whether an earlier request decided it cannot be told: '
          + 'the execution\'s history can no longer be read. See the audit trail.'
        : 'Step Functions answered with an error and the execution\'s history can no longer be read, so whether your decision was applied is not known. '
          + 'The workflow no longer waits for this approval. See the audit trail.',
    });
  }
  // Unknown for now: the approval stays DECIDING; a request after STALE_DECIDING_SECONDS takes it
  // over, sends again and, if the token was used, reads the history again.
  deps.log.error('whether the decision was applied is unknown: the execution history could not be read; the approval stays DECIDING', {
    ...logContext, reason: truth.reason, error,
  });
  attempt?.set('unknown', `${name}; the execution history could not be read (${truth.reason})`);
  return answer('unknown', closedError ? {
    message: 'The workflow is no longer waiting for this approval, so this request decided nothing; whether an earlier request decided it could not be read '
      + 'from the workflow right now. Open the link again in a few minutes to see the result.',
  } : undefined);
}

/** What the execution's history says about this approval's decision. */
type Truth =
  | { readonly kind: 'applied'; readonly decision: ApprovalDecision }
  | { readonly kind: 'absent'; readonly executionStatus: string }
  | { readonly kind: 'unreadable'; readonly reason: string; readonly permanent: boolean };

/**
 * Reads the execution's history from the newest event back to the approval's creation (bounded:
 * MAX_HISTORY_PAGES pages) for the TaskSucceeded / TaskFailed carrying this approval's decision; if
 * there is none, DescribeExecution says whether the execution still runs.
 */
async function readTruth(item: StoredItem, deps: ApprovalEndpointDeps): Promise<Truth> {
  const reads = deps.sfnReads ?? deps.sfn;
  const since = (item.createdAt - HISTORY_CLOCK_SKEW_SECONDS) * 1000;
  try {
    let nextToken: string | undefined;
    for (let page = 1; ; page++) {
      const res = await reads.send(new GetExecutionHistoryCommand({
        executionArn: item.executionId, reverseOrder: true, maxResults: HISTORY_PAGE_SIZE, includeExecutionData: true, nextToken,
      }));
      let reachedRequest = false;
      for (const event of res.events ?? []) {
        const decision = decisionInEvent(event, item.approvalId);
        if (decision) return { kind: 'applied', decision };
        if (event.timestamp !== undefined && event.timestamp.getTime() < since) {
          reachedRequest = true;
          break;
        }
      }
      if (reachedRequest || !res.nextToken) break;
      if (page >= MAX_HISTORY_PAGES) {
        return { kind: 'unreadable', reason: `more than ${MAX_HISTORY_PAGES * HISTORY_PAGE_SIZE} events since the approval was requested`, permanent: false };
      }
      nextToken = res.nextToken;
    }
    const described = await reads.send(new DescribeExecutionCommand({ executionArn: item.executionId }));
    return { kind: 'absent', executionStatus: described.status ?? 'UNKNOWN' };
  } catch (err) {
    const name = errorName(err);
    return { kind: 'unreadable', reason: name, permanent: name === 'ExecutionDoesNotExist' };
  }
}

/**
 * The workflow has the decision: the bookkeeping (DECIDED, APPROVAL# record, event) and the answer.
 * `delivered`: this request's call succeeded; `recovered`: it answered an error but the history shows
 * this request's decision; `earlier`: the history shows the decision of an earlier request.
 */
async function recordDecided(
  item: StoredItem, decision: ApprovalDecision, how: 'delivered' | 'recovered' | 'earlier', logContext: Record<string, unknown>, { config, deps, answer, attempt }: Ctx,
): Promise<HttpResponse> {
  const Key = { approvalId: item.approvalId };
  const { approver, approverName, comment } = decision;
  const fromDeciding = { ConditionExpression: '#status = :deciding', ExpressionAttributeNames: { '#status': 'status' } };
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
          // strings that can come from outside (the approver's identity claims) cleaned as in the approval request's event
          Detail: JSON.stringify({
            workflow: eventText(config.workflowName, 100),
            executionId: eventText(item.executionId, 2048),
            approvalId: item.approvalId,
            stage: item.stage,
            outcome: decision.outcome,
            approver: eventText(approver, 300),
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
  if (how === 'earlier') {
    deps.log.info('approval refused: already decided by an earlier request', { ...logContext, reason: 'already decided', outcome: decision.outcome, approver });
    attempt?.set('duplicate', 'an earlier request had decided (read from the execution history)', { outcome: decision.outcome, decidedAt: decision.decidedAt, approver });
    return answer('already-decided', {
      message: 'This approval had already been decided by an earlier request: your request changed nothing.',
      details: { outcome: decision.outcome, approver, decidedAt: decision.decidedAt },
    });
  }
  deps.log.info('approval decided', { ...logContext, outcome: decision.outcome, approver, ...(how === 'recovered' ? { confirmedBy: 'execution history' } : {}) });
  attempt?.set('applied', how === 'recovered' ? 'Step Functions answered an error; the execution history shows the decision' : undefined,
    { outcome: decision.outcome, decidedAt: decision.decidedAt, approver });
  const confirmed = how === 'recovered' ? ' (Step Functions answered with an error, but the workflow\'s history shows your decision was applied.)' : '';
  return answer('decided', {
    message: (decision.outcome === 'APPROVED' ? 'Approved: the workflow continues.' : 'Rejected: the workflow records the rejection.') + confirmed,
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
// One attempt for the decision: the SDK would retry a SendTaskSuccess that may have been applied (a 5xx or
// a network error) and meet TaskTimedOut, hiding the first error; the handler reads the execution
// history instead, and answers throttling with 503 "try again". The history reads are retried.
const sfn = new SFNClient({ maxAttempts: 1 });
const sfnReads = new SFNClient({});
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
      sfnReads,
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
