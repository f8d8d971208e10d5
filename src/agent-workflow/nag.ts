import { Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AgentTrigger } from './agent-trigger';
import { nagArn } from '../core/nag';

/** What the workflow-level acknowledgements name. @internal */
export interface WorkflowNagOptions {
  readonly trigger: AgentTrigger;
  readonly artifactBucket: s3.IBucket;
  readonly snapshotPrefix: string;
  readonly stateMachine: sfn.StateMachine;
  /** The workflow's own functions. */
  readonly own: lambda.Function[];
  readonly validator: lambda.IFunction;
  readonly reasoner: lambda.IFunction;
  readonly approvalRequest?: lambda.IFunction;
  readonly starter?: lambda.IFunction;
}

/**
 * The cdk-nag findings of the workflow, each acknowledged for one finding with its reason (the
 * approval endpoint acknowledges its own, see `approval-endpoint.ts`).
 * @internal
 */
export function acknowledgeWorkflowFindings(scope: Construct, o: WorkflowNagOptions): void {
  const ack = (c: Construct, finding: string, reason: string) => Validations.of(c).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  const objects = `Resource::${nagArn(scope, o.trigger.bucket.arnForObjects(`${o.trigger.prefix}*`))}`;
  const objectsReason = 'Read access to the objects under the trigger prefix (inputs are arbitrary keys there); nothing else in the bucket.';
  for (const fn of o.own) {
    ack(fn, 'Resource::*', 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; every data action is scoped to its table, bucket prefix, topic, secret or state machine.');
  }
  const snapshots = `Resource::${nagArn(scope, o.artifactBucket.arnForObjects(`${o.snapshotPrefix}*`))}`;
  const snapshotsReason = 'Copies of validated inputs under inputs/ (one per object version, keyed by a hash of bucket, key and version): the validator writes them, the model caller reads them.';
  for (const fn of [o.validator, o.reasoner]) {
    if (fn instanceof lambda.Function) {
      ack(fn, objects, objectsReason);
      ack(fn, snapshots, snapshotsReason);
    }
  }
  ack(o.stateMachine, snapshots, snapshotsReason);
  ack(o.reasoner, `Resource::${nagArn(scope, o.artifactBucket.arnForObjects('artifacts/*'))}`,
    'The reasoner writes one answer artifact per execution under artifacts/ (keys are per execution); nothing else in the bucket.');
  ack(o.stateMachine, objects, objectsReason);
  ack(o.stateMachine, 'Resource::*', 'X-Ray and CloudWatch Logs delivery actions support no resource-level permissions.');
  for (const fn of [o.validator, o.reasoner, o.approvalRequest]) {
    if (fn) ack(o.stateMachine, `Resource::${nagArn(scope, fn.functionArn)}:*`, 'aws-cdk-lib grants invoking the versions of each task function; the functions are this workflow\'s own.');
  }
  Validations.of(o.stateMachine).acknowledge({
    id: 'AwsSolutions-SF1',
    reason: 'Execution data may hold personal data, so the default log level is ERROR without execution data (logLevel / logExecutionData opt in); the audit table records every outcome.',
  });
  if (o.starter) {
    Validations.of(o.starter).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: 'SQS event sources do not take on-failure destinations: failed messages return to the trigger queue and, after 5 receives, go to its dead-letter queue (alarmed).',
    });
  }
  const notifications = Stack.of(scope).node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
  if (notifications) {
    Validations.of(notifications).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'aws-cdk-lib\'s bucket-notifications handler (enables EventBridge notifications on the trigger bucket); the managed policy only writes its own logs.',
    });
  }
  for (const fn of o.own) {
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked synchronously by Step Functions / API Gateway / Secrets Manager (key rotation) or through an SQS event source with its own DLQ; failures surface to the caller.',
    });
  }
}
