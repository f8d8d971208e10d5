import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * The pipe role's one wildcard: the stream sources' `ListStreams`, which has no resource-level
 * permission; every other statement names its stream, queue, function, topic, bus or log group.
 * @internal
 */
export function acknowledgeListStreams(policy: iam.Policy, service: 'dynamodb' | 'kinesis'): void {
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `${service}:ListStreams supports no resource-level permission (Pipes call it to find the stream); `
      + 'every other statement of the pipe role names its source, enrichment, target, dead-letter target or log group.',
  });
}

/**
 * A consumer's handler reads its queue through an SQS event source: SQS event sources take no
 * on-failure destination; failed messages return to the queue and go to its dead-letter queue.
 * @internal
 */
export function acknowledgeConsumerEventSource(handler: lambda.IFunction): void {
  Validations.of(handler).acknowledge({
    id: 'Serverless-LambdaEventSourceMappingDestination',
    reason: 'SQS event sources take no on-failure destination: failed messages (reported per item) return to the consumer queue '
      + 'and go to its dead-letter queue after maxReceiveCount receives (alarmed).',
  });
}
