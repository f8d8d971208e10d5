import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { DefinitionContext } from './context';
import { FailureEndings, progressRequest, verdictOutput } from './endings';
import { lambdaThrottleRetry } from './retries';
import { HumanApproval } from '../approval';
import { APPROVAL_REJECTED_ERROR, ApprovalStage } from '../runtime/contracts';

/** What the approval stage needs. */
export interface ApprovalStageOptions {
  readonly approval: HumanApproval;
  /** The approval request function (`.waitForTaskToken`), see `approval-endpoint.ts`. */
  readonly requestFn: lambda.IFunction;
  readonly timeout: Duration;
  readonly escalationTimeout: Duration;
  readonly hasEscalation: boolean;
}

const TIMEOUTS = ['States.Timeout', 'States.HeartbeatTimeout'];

/**
 * Request Approval (`.waitForTaskToken`, answered by the approval endpoint; its function sends the
 * 'approval' progress event) → Approved by Human | Parse Rejection → Rejected by Human | [Escalate
 * Approval →] Approval Timed Out, each a verdict that continues at `recordOutcome`. Returns the
 * stage's first state.
 */
export function approvalStage(
  ctx: DefinitionContext, o: ApprovalStageOptions, recordOutcome: sfn.IChainable, endings: FailureEndings,
): sfn.IChainable {
  const heartbeat = o.approval.options.heartbeat;
  // the first request also sends the 'approval' progress event (in the PutEvents call it makes anyway)
  const request = (id: string, stage: ApprovalStage, wait: Duration) => tasks.LambdaInvoke.jsonPath(ctx.scope, id, {
    lambdaFunction: o.requestFn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      taskToken: sfn.JsonPath.taskToken,
      executionId: sfn.JsonPath.executionId,
      stage,
      timeoutSeconds: wait.toSeconds(),
      reason: sfn.JsonPath.stringAt('$.verdict.reason'),
      subject: { 'bucket.$': '$.validation.bucket', 'key.$': '$.validation.key', 'versionId.$': '$.validation.versionId' },
      fields: sfn.JsonPath.objectAt('$.reasoning.fields'),
      summary: sfn.JsonPath.stringAt('$.reasoning.summary'),
      tools: sfn.JsonPath.objectAt('$.tools'),
      heartbeatSeconds: heartbeat?.toSeconds() ?? 0,
      ...(stage === 'primary' ? { progress: progressRequest() } : {}),
    }),
    taskTimeout: sfn.Timeout.duration(wait),
    heartbeatTimeout: heartbeat ? sfn.Timeout.duration(heartbeat) : undefined,
    resultPath: '$.approval',
  });
  const approvedVerdict = (id: string) => new sfn.Pass(ctx.scope, id, {
    parameters: {
      'route': 'HUMAN',
      'outcome': 'APPROVED',
      'reason.$': '$.verdict.reason',
      'approver.$': '$.approval.approver',
      'approverName.$': '$.approval.approverName',
      'comment.$': '$.approval.comment',
      'approvalId.$': '$.approval.approvalId',
      'decidedAt.$': '$.approval.decidedAt',
      ...verdictOutput(),
    },
    resultPath: '$.verdict',
  });
  // a rejection arrives as SendTaskFailure(ApprovalRejected) whose cause is the decision as JSON
  const parseRejection = new sfn.Pass(ctx.scope, 'Parse Rejection', {
    parameters: { 'decision.$': 'States.StringToJson($.approvalError.Cause)' },
    resultPath: '$.approval',
  });
  const rejectedVerdict = new sfn.Pass(ctx.scope, 'Rejected by Human', {
    parameters: {
      'route': 'HUMAN',
      'outcome': 'REJECTED',
      'reason.$': '$.verdict.reason',
      'approver.$': '$.approval.decision.approver',
      'approverName.$': '$.approval.decision.approverName',
      'comment.$': '$.approval.decision.comment',
      'approvalId.$': '$.approval.decision.approvalId',
      'decidedAt.$': '$.approval.decision.decidedAt',
      ...verdictOutput(),
    },
    resultPath: '$.verdict',
  });
  parseRejection.next(rejectedVerdict).next(recordOutcome);
  const timedOut = new sfn.Pass(ctx.scope, 'Approval Timed Out', {
    parameters: {
      'route': 'HUMAN',
      'outcome': 'REJECTED_TIMEOUT',
      'reason.$': '$.verdict.reason',
      'approver': 'timeout',
      'approverName': '',
      'comment': 'no decision before the approval timeout',
      'approvalId': '',
      'decidedAt.$': '$$.State.EnteredTime',
      ...verdictOutput(),
    },
    resultPath: '$.verdict',
  });
  timedOut.next(recordOutcome);

  const primary = request('Request Approval', 'primary', o.timeout);
  lambdaThrottleRetry(primary);
  primary.next(approvedVerdict('Approved by Human').next(recordOutcome));
  primary.addCatch(parseRejection, { errors: [APPROVAL_REJECTED_ERROR], resultPath: '$.approvalError' });
  if (o.hasEscalation) {
    const escalate = request('Escalate Approval', 'escalation', o.escalationTimeout);
    lambdaThrottleRetry(escalate);
    escalate.next(approvedVerdict('Approved after Escalation').next(recordOutcome));
    escalate.addCatch(parseRejection, { errors: [APPROVAL_REJECTED_ERROR], resultPath: '$.approvalError' });
    escalate.addCatch(timedOut, { errors: TIMEOUTS, resultPath: '$.approvalError' });
    endings.catchAll(escalate);
    primary.addCatch(escalate, { errors: TIMEOUTS, resultPath: '$.approvalError' });
  } else {
    primary.addCatch(timedOut, { errors: TIMEOUTS, resultPath: '$.approvalError' });
  }
  endings.catchAll(primary);
  return primary;
}
