/**
 * The workflow's progress events ("Agent Workflow Progress" on the workflow's bus), as the
 * definition's progress states send them (`progress()` in definition/endings.ts) and as the handlers
 * already on the path send them instead of a state of their own: the built-in validator ('started',
 * and 'validation' when the input is valid, in one PutEvents call), the reasoner ('reasoning'), its
 * digest mode ('tools') and the approval request ('approval', in the PutEvents call it makes anyway).
 *
 * A handler reports progress only when its task payload asks for it (`progress`, see
 * ProgressRequest): a definition that sends the event from a state of its own leaves it out. Best
 * effort, like the states it replaces: a failed call or a failed entry is logged as a structured
 * error and never fails the task.
 *
 * Pure: the PutEvents call is passed in (types only from the SDK), so the definition can import the
 * milestones too.
 */
import type { PutEventsCommandInput, PutEventsCommandOutput, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { requireEnv } from '../../core/runtime/env';
import type { StructuredLog } from '../../core/runtime/log';

/** The detail-type of every progress event. */
export const PROGRESS_DETAIL_TYPE = 'Agent Workflow Progress';

/** One milestone of an execution: the `step`, `status` and `percent` of its event's detail. */
export interface ProgressMilestone {
  readonly step: string;
  readonly status: string;
  readonly percent: number;
}

/** The milestones, as the README lists them. */
export const PROGRESS = {
  started: { step: 'started', status: 'RUNNING', percent: 0 },
  validated: { step: 'validation', status: 'VALID', percent: 20 },
  rejectedInvalid: { step: 'validation', status: 'REJECTED_INVALID', percent: 100 },
  reasoned: { step: 'reasoning', status: 'DONE', percent: 50 },
  invalidAnswer: { step: 'reasoning', status: 'FAILED', percent: 100 },
  toolsDone: { step: 'tools', status: 'DONE', percent: 65 },
  awaitingApproval: { step: 'approval', status: 'AWAITING_APPROVAL', percent: 75 },
  completed: { step: 'completed', status: 'COMPLETED', percent: 100 },
  failed: { step: 'failed', status: 'FAILED', percent: 100 },
} as const;

/** Where a handler sends progress events (env EVENT_BUS_NAME, EVENT_SOURCE, WORKFLOW_NAME). */
export interface ProgressConfig {
  readonly eventBusName: string;
  readonly eventSource: string;
  readonly workflowName: string;
}

/** Reads the progress configuration the construct sets on each handler that reports progress. */
export function readProgressConfig(env: Record<string, string | undefined>): ProgressConfig {
  return {
    eventBusName: requireEnv(env, 'EVENT_BUS_NAME'),
    eventSource: requireEnv(env, 'EVENT_SOURCE'),
    workflowName: requireEnv(env, 'WORKFLOW_NAME'),
  };
}

/**
 * `progress` in a task payload: report the workflow's progress for this execution. Absent when the
 * definition reports it with a state of its own (an execution started before the handlers did).
 */
export interface ProgressRequest {
  /** `$$.Execution.Id`. */
  readonly executionId: string;
  /** `$$.Execution.StartTime` (the time of the 'started' event; the validator's payload only). */
  readonly startedAt?: string;
}

/** Checks `progress` of a task payload (undefined when absent); throws an error naming `where` when malformed. */
export function parseProgressRequest(value: unknown, where: string): ProgressRequest | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where} must be an object`);
  const { executionId, startedAt } = value as Record<string, unknown>;
  if (typeof executionId !== 'string' || executionId === '' || executionId.length > 2048) {
    throw new Error(`${where}.executionId must be a non-empty string of at most 2048 characters`);
  }
  if (startedAt !== undefined && (typeof startedAt !== 'string' || Number.isNaN(Date.parse(startedAt)))) {
    throw new Error(`${where}.startedAt must be an ISO-8601 time`);
  }
  return { executionId, ...(startedAt !== undefined ? { startedAt } : {}) };
}

/** The PutEvents entry of one milestone (the detail of the definition's progress states, key for key). */
export function progressEntry(config: ProgressConfig, executionId: string, milestone: ProgressMilestone, at: string): PutEventsRequestEntry {
  return {
    EventBusName: config.eventBusName,
    Source: config.eventSource,
    DetailType: PROGRESS_DETAIL_TYPE,
    Detail: JSON.stringify({
      workflow: config.workflowName,
      executionId,
      step: milestone.step,
      status: milestone.status,
      percent: milestone.percent,
      at,
    }),
  };
}

/** What a handler needs to send progress events. */
export interface ProgressSender {
  readonly config: ProgressConfig;
  /** PutEvents with the handler's EventBridge client. */
  readonly putEvents: (input: PutEventsCommandInput) => Promise<PutEventsCommandOutput>;
  readonly log: Pick<StructuredLog, 'error'>;
  readonly now: () => Date;
}

/** One milestone to send; `at` defaults to the sender's clock. */
export interface ProgressReport {
  readonly milestone: ProgressMilestone;
  readonly at?: string;
}

/**
 * The entries of a PutEvents answer that failed (the answer lists one result per entry, in order):
 * their index (-1 when the answer does not say which) and error.
 */
export function failedEntries(
  entryCount: number, output: PutEventsCommandOutput,
): Array<{ index: number; errorCode: string; errorMessage?: string }> {
  if ((output.FailedEntryCount ?? 0) === 0) return [];
  const failed = (output.Entries ?? []).slice(0, entryCount)
    .map((result, index) => ({ index, errorCode: result?.ErrorCode, errorMessage: result?.ErrorMessage }))
    .filter((f): f is { index: number; errorCode: string; errorMessage: string | undefined } => f.errorCode !== undefined);
  return failed.length > 0 ? failed : [{ index: -1, errorCode: 'unknown' }];
}

/**
 * Sends the milestones of one execution in one PutEvents call, when the payload asked for them and
 * the handler can send (else nothing). Never throws: a failure is logged as a structured error.
 */
export async function sendProgress(
  sender: ProgressSender | undefined, request: ProgressRequest | undefined, reports: readonly ProgressReport[],
): Promise<void> {
  if (!sender || !request || reports.length === 0) return;
  const now = sender.now().toISOString();
  const entries = reports.map((r) => progressEntry(sender.config, request.executionId, r.milestone, r.at ?? now));
  const steps = reports.map((r) => r.milestone.step);
  try {
    const output = await sender.putEvents({ Entries: entries });
    for (const f of failedEntries(entries.length, output)) {
      sender.log.error('a progress event was not accepted', {
        executionId: request.executionId, step: f.index >= 0 ? steps[f.index] : steps.join(', '), errorCode: f.errorCode, errorMessage: f.errorMessage,
      });
    }
  } catch (err) {
    sender.log.error('progress events could not be sent', {
      executionId: request.executionId,
      steps,
      error: err instanceof Error ? err.name : String(err),
      errorMessage: err instanceof Error ? err.message : undefined,
    });
  }
}
