import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { CatchAll, DefinitionContext } from './context';
import { dynamoDbRetry, progressRetry } from './retries';
import { SCHEMA_VIOLATION_ERROR } from '../runtime/contracts';
import { PROGRESS, PROGRESS_DETAIL_TYPE, ProgressMilestone } from '../runtime/progress-events';

// Progress events, audit records and the ends of the workflow: every execution ends recorded.

/**
 * A progress event on the workflow's bus (best effort: see `toProgressOnError`). Where a handler of
 * ours is on the path it sends the event instead (runtime/progress-events.ts, same detail): these
 * states remain for a custom validator, the invalid input, approval-free ends and failures.
 */
export function progress(ctx: DefinitionContext, id: string, milestone: ProgressMilestone, options: { outputPath?: string } = {}): sfn.TaskStateBase {
  const t = tasks.EventBridgePutEvents.jsonPath(ctx.scope, id, {
    entries: [{
      eventBus: ctx.eventBus,
      source: ctx.eventSource,
      detailType: PROGRESS_DETAIL_TYPE,
      detail: sfn.TaskInput.fromObject({
        workflow: ctx.workflowName,
        executionId: sfn.JsonPath.executionId,
        step: milestone.step,
        status: milestone.status,
        percent: milestone.percent,
        at: sfn.JsonPath.stringAt('$$.State.EnteredTime'),
      }),
    }],
    resultPath: sfn.JsonPath.DISCARD,
    outputPath: options.outputPath,
  });
  progressRetry(t);
  return t;
}

/** `progress` in a handler's task payload: the handler sends the milestone's event (runtime/progress-events.ts). */
export function progressRequest(withStartTime = false): Record<string, string> {
  return { 'executionId.$': '$$.Execution.Id', ...(withStartTime ? { 'startedAt.$': '$$.Execution.StartTime' } : {}) };
}

/**
 * The keys of the execution's output that every verdict Pass adds to `$.verdict` (which is the
 * output: see `outcomeEnding`), beside outcome, route, reason, approver, approverName, comment,
 * approvalId and decidedAt.
 */
export function verdictOutput(): Record<string, string> {
  return { 'executionId.$': '$$.Execution.Id', 'fields.$': '$.reasoning.fields', 'artifactKey.$': '$.reasoning.artifactKey' };
}

/** A progress event that cannot be sent does not stop the workflow. */
export function toProgressOnError(t: sfn.TaskStateBase, next: sfn.IChainable): void {
  t.addCatch(next, { resultPath: sfn.JsonPath.DISCARD });
}

/** A string attribute read from the state. */
export const S = (path: string) => tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt(path));
/** A JSON value of the state, as a string attribute. */
export const SJ = (path: string) => tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(path)));
/** A number of the state, as a number attribute. */
export const N = (path: string) => tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(path)));

/** The input object and who sent it (null values recorded as the string 'null'). */
export function subjectAttributes(): Record<string, tasks.DynamoAttributeValue> {
  return {
    objectBucket: S('$.validation.bucket'),
    objectKey: S('$.validation.key'),
    objectVersion: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.validation.versionId'))),
    actorId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.validation.actorId'))),
    sessionId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.validation.sessionId'))),
  };
}

/** The execution's OUTCOME record in the audit table (written by the state machine itself); a failed write fails the execution. */
export function audit(ctx: DefinitionContext, id: string, item: Record<string, tasks.DynamoAttributeValue>): sfn.TaskStateBase {
  const t = tasks.DynamoPutItem.jsonPath(ctx.scope, id, {
    table: ctx.auditTable,
    item: {
      executionId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.executionId),
      recordId: tasks.DynamoAttributeValue.fromString('OUTCOME'),
      workflow: tasks.DynamoAttributeValue.fromString(ctx.workflowName),
      startedAt: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.Execution.StartTime')),
      finishedAt: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.State.EnteredTime')),
      ...item,
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  dynamoDbRetry(t, 5);
  t.addCatch(new sfn.Fail(ctx.scope, `${id} Failed`, { error: 'AuditWriteFailed', cause: 'The audit record could not be written; see the execution history.' }));
  return t;
}

/** The failure endings every stage may reach. */
export interface FailureEndings {
  /** Sends any error of a task to the recorded failure (outcome FAILED). */
  readonly catchAll: CatchAll;
  /** The recorded end of an answer that violated the output schema (outcome ERROR_INVALID_ANSWER). */
  readonly recordInvalidAnswer: sfn.IChainable;
}

/** Record Failure → Progress Failed → Workflow Failed, and Record Invalid Answer → ... → Invalid Model Answer. */
export function failureEndings(ctx: DefinitionContext, modelId: string): FailureEndings {
  // Error objects from a Catch always carry Error; Cause is kept whole as JSON (a path to a missing
  // field would raise States.Runtime, which no Catch handles).
  const failureDetails = (id: string) => new sfn.Pass(ctx.scope, id, { parameters: { 'cause.$': 'States.JsonToString($.error)' }, resultPath: '$.failure' });
  const failureDetailsState = failureDetails('Failure Details');
  const progressFailed = progress(ctx, 'Progress Failed', PROGRESS.failed);
  toProgressOnError(progressFailed, failureDetailsState);
  const failedEnd = progressFailed.next(failureDetailsState).next(new sfn.Fail(ctx.scope, 'Workflow Failed', {
    errorPath: '$.error.Error', causePath: '$.failure.cause',
  }));
  const recordFailure = audit(ctx, 'Record Failure', {
    outcome: tasks.DynamoAttributeValue.fromString('FAILED'),
    error: S('$.error.Error'),
    cause: SJ('$.error'),
  }).next(failedEnd);
  const invalidAnswerDetails = failureDetails('Invalid Answer Details');
  const progressInvalidAnswer = progress(ctx, 'Progress Invalid Answer', PROGRESS.invalidAnswer);
  toProgressOnError(progressInvalidAnswer, invalidAnswerDetails);
  const invalidAnswerEnd = progressInvalidAnswer.next(invalidAnswerDetails)
    .next(new sfn.Fail(ctx.scope, 'Invalid Model Answer', { error: SCHEMA_VIOLATION_ERROR, causePath: '$.failure.cause' }));
  const recordInvalidAnswer = audit(ctx, 'Record Invalid Answer', {
    outcome: tasks.DynamoAttributeValue.fromString('ERROR_INVALID_ANSWER'),
    modelId: tasks.DynamoAttributeValue.fromString(modelId),
    error: S('$.error.Error'),
    cause: SJ('$.error'),
    ...subjectAttributes(),
  }).next(invalidAnswerEnd);
  const catchAll: CatchAll = (t) => t.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
  return { catchAll, recordInvalidAnswer };
}

/**
 * Record Outcome → Progress Completed: the end of every decided execution (reads `$.verdict`). The
 * verdict Pass states build `$.verdict` as the execution's output (`verdictOutput`), so the last
 * state selects it (OutputPath); when the event cannot be sent, Result does the same.
 */
export function outcomeEnding(ctx: DefinitionContext): sfn.TaskStateBase {
  const recordOutcome = audit(ctx, 'Record Outcome', {
    outcome: S('$.verdict.outcome'),
    route: S('$.verdict.route'),
    reason: S('$.verdict.reason'),
    approver: S('$.verdict.approver'),
    approverName: S('$.verdict.approverName'),
    comment: S('$.verdict.comment'),
    approvalId: S('$.verdict.approvalId'),
    decidedAt: S('$.verdict.decidedAt'),
    ...subjectAttributes(),
    modelId: S('$.reasoning.modelId'),
    promptHash: S('$.reasoning.promptHash'),
    outputDigest: S('$.reasoning.outputDigest'),
    structuredOutput: SJ('$.reasoning.fields'),
    artifactKey: S('$.reasoning.artifactKey'),
    summary: S('$.reasoning.summary'),
    toolResults: SJ('$.tools'),
    toolsDigest: S('$.toolsDigest.value'),
    inputTokens: N('$.reasoning.usage.inputTokens'),
    outputTokens: N('$.reasoning.usage.outputTokens'),
  });
  const progressCompleted = progress(ctx, 'Progress Completed', PROGRESS.completed, { outputPath: '$.verdict' });
  toProgressOnError(progressCompleted, new sfn.Pass(ctx.scope, 'Result', { outputPath: '$.verdict' }));
  recordOutcome.next(progressCompleted);
  return recordOutcome;
}
