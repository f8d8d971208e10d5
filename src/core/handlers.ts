import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * The dead-letter queue of a bundled handler: SSE-SQS (or the given key), TLS only, 14 days, and a redrive allow
 * policy that marks it as a dead-letter queue (AWS Control Tower CT.SQS.PR.1). Its own cdk-nag findings (a DLQ without
 * a DLQ) are acknowledged with the reason.
 *
 * The redrive allow policy is `allowAll`, SQS's default made explicit: `denyAll` fails CT.SQS.PR.1 (the control then
 * treats the queue as an ordinary queue that needs a DLQ of its own), and `byQueue` naming the queue that redrives into
 * it (the agent workflow's trigger queue) would be a circular reference between the two queues. The policy only says
 * which queues may name this one as their DLQ; Lambda on-failure destinations, EventBridge target DLQs and SNS
 * subscription DLQs send with `sqs:SendMessage` and are not affected by it.
 * @param senders the service principals that deliver dead letters to it with the key (EventBridge by default; an SNS
 * subscription's DLQ needs `sns.amazonaws.com`)
 * @internal
 */
export function handlerDeadLetterQueue(
  scope: Construct, id: string, owner: string, key?: kms.IKey, senders: string[] = ['events.amazonaws.com'],
): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: key ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
  });
  // EventBridge and SNS deliver dead letters with their service principals: they need the key (a key
  // defined in this app gets the statement; an imported key's policy must already allow it). Lambda's
  // on-failure destination sends with the function's role (core/functions.ts grants it).
  if (key) for (const sender of senders) key.grant(new iam.ServicePrincipal(sender), 'kms:Decrypt', 'kms:GenerateDataKey');
  for (const rule of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
    Validations.of(queue).acknowledge({ id: rule, reason: `This queue is itself the dead-letter queue of ${owner}.` });
  }
  return queue;
}

/**
 * Acknowledges the cdk-nag finding on the AWS managed basic execution role of a bundled handler.
 * @internal
 */
export function acknowledgeBasicExecutionRole(fn: lambda.IFunction): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'The AWS managed basic execution role only grants writing this function\'s own CloudWatch logs.',
  });
}
