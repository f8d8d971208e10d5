/**
 * The audit of approval decisions (pure, no AWS client): the record every attempted decision leaves
 * in the audit table, and what an execution's history says about a decision whose delivery to Step
 * Functions answered an error.
 *
 * Attempt records (audit table, partition `executionId`, sort key `recordId`):
 *
 *   executionId = <execution ARN>               when the approval is known (its item was read)
 *               = unattributed#<yyyy-mm-dd>     otherwise (forged, malformed, unknown approval id)
 *   recordId    = ATTEMPT#<ISO time>#<nonce>    (sorts by time; the nonce keeps concurrent attempts apart)
 *
 * Unattributed partitions hold what no approval vouches for, so they are kept apart from every
 * execution's records and bounded: the API stage is throttled to 10 requests per second (burst 20),
 * so a day's partition holds at most 864,000 records, each cut to a few KB (free text to
 * MAX_UNATTRIBUTED_TEXT characters, with the received length kept).
 */
import { APPROVAL_REJECTED_ERROR, ApprovalDecision } from './contracts';

/** Sort-key prefix of attempt records. */
export const ATTEMPT_RECORD_PREFIX = 'ATTEMPT#';
/** Partition-key prefix of attempts no approval can be attributed to (followed by the UTC day). */
export const UNATTRIBUTED_PARTITION_PREFIX = 'unattributed#';
/** Longest free text (comment, name, user agent) kept in an unattributed record. */
export const MAX_UNATTRIBUTED_TEXT = 1000;
/** Longest user agent kept in an attributed record. */
export const MAX_USER_AGENT = 512;

/**
 * What became of one attempt:
 * - `in-progress`: written before the decision is sent (replaced by the outcome when it is known);
 * - `applied`: the decision reached the workflow (also when the history showed it after an error);
 * - `duplicate`: the approval was already decided (or being decided) by another request;
 * - `closed`: the workflow no longer waits for this approval (timed out, moved on, closed);
 * - `expired`: the link or the approval had expired;
 * - `forged`, `malformed`, `not-found`: refused before anything was read or decided;
 * - `retired-key`: the link was signed with a key retired by rotation;
 * - `not-applied`: the decision was sent but is known not to have been applied (a refusal by Step
 *   Functions, or an error after which the history shows no decision);
 * - `unknown`: Step Functions answered an error and its history could not be read;
 * - `comment-too-long`, `name-too-long`: refused, nothing sent;
 * - `heartbeat`: a heartbeat was delivered;
 * - `error`: the request failed before anything was sent;
 * - `refused`: another refusal of the link (its reason in `detail`).
 */
export type AttemptOutcome =
  | 'in-progress' | 'applied' | 'duplicate' | 'closed' | 'expired' | 'forged' | 'malformed' | 'not-found'
  | 'not-applied' | 'unknown' | 'comment-too-long' | 'name-too-long' | 'retired-key' | 'heartbeat' | 'error' | 'refused';

/** The approval an attempt is attributed to (its item was read). */
export interface AttemptAttribution {
  readonly executionId: string;
  readonly approvalId: string;
  readonly stage: string;
}

/** Everything known about one attempt when its record is written. */
export interface AttemptFacts {
  /** When the request arrived. */
  readonly at: Date;
  /** Random, unique per request (a few characters). */
  readonly nonce: string;
  readonly outcome: AttemptOutcome;
  readonly httpStatus?: number;
  /** The action the request claimed (approve, reject, heartbeat, or whatever a malformed one said). */
  readonly action?: string;
  /** The approval id the URL named (unverified unless `attribution` is set). */
  readonly claimedApprovalId?: string;
  readonly attribution?: AttemptAttribution;
  /** The authenticated approver (`iam:`, `cognito:`, `link:<stage>`; `link` when no approval vouches for the link). */
  readonly approver: string;
  readonly approverName?: string;
  readonly comment?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly requestId?: string;
  /** Why, in a few words (`signature mismatch`, `TaskTimedOut; the history shows no decision`...). */
  readonly detail?: string;
  /** The decision the workflow has for this approval, when it is known. */
  readonly decision?: Pick<ApprovalDecision, 'outcome' | 'decidedAt' | 'approver'>;
}

/** The partition of an attempt no approval can be attributed to: one per UTC day. */
export function unattributedPartition(at: Date): string {
  return `${UNATTRIBUTED_PARTITION_PREFIX}${at.toISOString().slice(0, 10)}`;
}

function cut(value: string | undefined, max: number): { text?: string; length?: number } {
  if (value === undefined) return {};
  return value.length > max ? { text: value.slice(0, max), length: value.length } : { text: value };
}

/**
 * The audit-table item of one attempt. Attributed records keep the comment and the name in full (the
 * request body is at most 16 KiB); unattributed ones cut free text to MAX_UNATTRIBUTED_TEXT and keep
 * the received length (`commentLength`, `approverNameLength`).
 */
export function attemptRecord(f: AttemptFacts): Record<string, unknown> {
  const attributed = f.attribution !== undefined;
  const textMax = attributed ? Number.MAX_SAFE_INTEGER : MAX_UNATTRIBUTED_TEXT;
  const comment = cut(f.comment, textMax);
  const name = cut(f.approverName, textMax);
  const userAgent = cut(f.userAgent, attributed ? MAX_USER_AGENT : Math.min(MAX_USER_AGENT, MAX_UNATTRIBUTED_TEXT));
  const attemptedAt = f.at.toISOString();
  return {
    executionId: f.attribution?.executionId ?? unattributedPartition(f.at),
    recordId: `${ATTEMPT_RECORD_PREFIX}${attemptedAt}#${f.nonce}`,
    recordType: 'ATTEMPT',
    attemptedAt,
    outcome: f.outcome,
    httpStatus: f.httpStatus,
    action: f.action === undefined ? undefined : f.action.slice(0, 32),
    approvalId: f.attribution?.approvalId,
    claimedApprovalId: attributed || f.claimedApprovalId === undefined ? undefined : f.claimedApprovalId.slice(0, 64),
    stage: f.attribution?.stage,
    approver: f.approver,
    approverName: name.text,
    approverNameLength: name.length,
    comment: comment.text,
    commentLength: comment.length,
    sourceIp: f.sourceIp?.slice(0, 64),
    userAgent: userAgent.text,
    requestId: f.requestId?.slice(0, 128),
    detail: f.detail?.slice(0, 300),
    decisionOutcome: f.decision?.outcome,
    decisionApprover: f.decision?.approver,
    decidedAt: f.decision?.decidedAt,
  };
}

// ---------------------------------------------------------------------------------------------
// What the execution's history says

/** The fields of a GetExecutionHistory event the search reads (the SDK's HistoryEvent has them). */
export interface HistoryEventLike {
  readonly type?: string;
  readonly timestamp?: Date;
  readonly taskSucceededEventDetails?: { readonly output?: string };
  readonly taskFailedEventDetails?: { readonly error?: string; readonly cause?: string };
}

function parsedDecision(text: string | undefined, approvalId: string, outcome: ApprovalDecision['outcome']): ApprovalDecision | undefined {
  // cheap test first: most task outputs of an execution are not decisions
  if (!text || !text.includes(approvalId)) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ApprovalDecision> | null;
    if (!value || typeof value !== 'object' || value.approvalId !== approvalId || value.outcome !== outcome) return undefined;
    if (typeof value.approver !== 'string' || typeof value.decidedAt !== 'string') return undefined;
    return {
      outcome,
      approvalId,
      approver: value.approver,
      approverName: typeof value.approverName === 'string' ? value.approverName : '',
      comment: typeof value.comment === 'string' ? value.comment : '',
      decidedAt: value.decidedAt,
    };
  } catch {
    return undefined;
  }
}

/**
 * The decision for `approvalId` an event records: a TaskSucceeded whose output, or a TaskFailed
 * (error ApprovalRejected) whose cause, is the decision JSON this endpoint sends (it names the
 * approval id). Anything else: undefined.
 */
export function decisionInEvent(event: HistoryEventLike, approvalId: string): ApprovalDecision | undefined {
  if (event.type === 'TaskSucceeded') return parsedDecision(event.taskSucceededEventDetails?.output, approvalId, 'APPROVED');
  if (event.type === 'TaskFailed' && event.taskFailedEventDetails?.error === APPROVAL_REJECTED_ERROR) {
    return parsedDecision(event.taskFailedEventDetails.cause, approvalId, 'REJECTED');
  }
  return undefined;
}

/** True when two decisions are the same one (the same request sent it). */
export function sameDecision(a: ApprovalDecision, b: ApprovalDecision): boolean {
  return a.approvalId === b.approvalId && a.outcome === b.outcome && a.approver === b.approver && a.decidedAt === b.decidedAt
    && a.approverName === b.approverName && a.comment === b.comment;
}
