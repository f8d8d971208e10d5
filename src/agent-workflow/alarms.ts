import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { StepFunctionsAgentWorkflow } from './step-functions-agent-workflow';
import { alarmMaker } from '../core/alarms';

/** What the workflow's alarms watch, besides its metric methods. @internal */
export interface WorkflowAlarmsOptions {
  /** Topic every alarm notifies (none: alarms without actions). */
  readonly alarmTopic?: sns.ITopic;
  /** Threshold of the pending-approval age alarm, when the workflow has human approval. */
  readonly pendingApprovalAlarmAge?: Duration;
  /** The workflow's own functions: one error alarm each. */
  readonly functions: lambda.Function[];
  readonly triggerDeadLetterQueue?: sqs.IQueue;
}

/**
 * The workflow's alarms, from its metric methods: failed, timed-out and throttled executions, model
 * throttles, schema violations, [old pending approvals,] handler errors[, trigger dead letters].
 * Created in the workflow's scope (their logical ids do not depend on this file).
 * @internal
 */
/** The workflow's alarms, by name and as one list (in creation order). @internal */
export interface WorkflowAlarms {
  readonly all: cloudwatch.IAlarm[];
  readonly executionsFailed: cloudwatch.IAlarm;
  readonly executionsTimedOut: cloudwatch.IAlarm;
  readonly executionsThrottled: cloudwatch.IAlarm;
  readonly modelThrottles: cloudwatch.IAlarm;
  readonly schemaViolations: cloudwatch.IAlarm;
  readonly pendingApprovalAge?: cloudwatch.IAlarm;
  readonly triggerDeadLetters?: cloudwatch.IAlarm;
}

export function workflowAlarms(wf: StepFunctionsAgentWorkflow, modelId: string, o: WorkflowAlarmsOptions): WorkflowAlarms {
  const make = alarmMaker(wf, o.alarmTopic);
  const alarm = (id: string, metric: cloudwatch.IMetric, description: string, threshold = 1) => make(id, metric, description, { threshold });
  const executionsFailed = alarm('ExecutionsFailedAlarm', wf.metricExecutionsFailed(), 'Agent workflow executions failed (the audit table holds the error of each).');
  const executionsTimedOut = alarm('ExecutionsTimedOutAlarm', wf.metricExecutionsTimedOut(), 'Agent workflow executions timed out.');
  const executionsThrottled = alarm('ExecutionsThrottledAlarm', wf.stateMachine.metricThrottled({ period: Duration.minutes(5), statistic: 'Sum' }),
    'Agent workflow state transitions were throttled.');
  const modelThrottles = alarm('ModelThrottlesAlarm', wf.metricModelThrottles(),
    `Bedrock throttled ${modelId} (retried with backoff; sustained throttling means the quota is too low).`, 5);
  const schemaViolations = alarm('SchemaViolationsAlarm', wf.metricSchemaViolations({ period: Duration.minutes(5) }),
    'The model answered outside the output schema (the answers are kept in S3).');
  const all: cloudwatch.IAlarm[] = [executionsFailed, executionsTimedOut, executionsThrottled, modelThrottles, schemaViolations];
  let pendingApprovalAge: cloudwatch.IAlarm | undefined;
  if (o.pendingApprovalAlarmAge) {
    const age = o.pendingApprovalAlarmAge;
    pendingApprovalAge = alarm('PendingApprovalAgeAlarm', wf.metricOldestPendingApprovalAge(), `An approval has been pending for more than ${age.toHumanString()}.`, age.toSeconds());
    all.push(pendingApprovalAge);
  }
  o.functions.forEach((fn) => all.push(alarm(`${fn.node.id}ErrorsAlarm`, fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), `${fn.node.id} errored.`)));
  let triggerDeadLetters: cloudwatch.IAlarm | undefined;
  if (o.triggerDeadLetterQueue) {
    triggerDeadLetters = alarm('TriggerDeadLettersAlarm', o.triggerDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      'Object Created events could not start an execution; they wait in the trigger dead-letter queue.');
    all.push(triggerDeadLetters);
  }
  return { all, executionsFailed, executionsTimedOut, executionsThrottled, modelThrottles, schemaViolations, pendingApprovalAge, triggerDeadLetters };
}
