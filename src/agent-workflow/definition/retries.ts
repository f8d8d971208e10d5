import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { BedrockConverseOptions } from '../agent-reasoning';

/** Throttling and server errors of DynamoDB tasks, in both spellings the integrations use (DynamoDB.* optimized, DynamoDb.* SDK). */
export const DYNAMODB_RETRYABLE = ['ProvisionedThroughputExceededException', 'ThrottlingException', 'InternalServerErrorException', 'RequestLimitExceeded']
  .flatMap((e) => [`DynamoDB.${e}`, `DynamoDb.${e}`]);

/** Lambda throttling (the account's concurrency) is retried with backoff and jitter, not failed. */
export function lambdaThrottleRetry(t: sfn.TaskStateBase): void {
  t.addRetry({
    errors: ['Lambda.TooManyRequestsException'], maxAttempts: 6, interval: Duration.seconds(2), backoffRate: 2, jitterStrategy: sfn.JitterType.FULL,
  });
}

/** DynamoDB throttling and server errors: backoff 2 from one second, full jitter. */
export function dynamoDbRetry(t: sfn.TaskStateBase, maxAttempts: number): void {
  t.addRetry({
    errors: DYNAMODB_RETRYABLE,
    maxAttempts,
    interval: Duration.seconds(1),
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
}

/** A progress event is best effort: two quick retries, then the workflow goes on (see `toProgressOnError`). */
export function progressRetry(t: sfn.TaskStateBase): void {
  t.addRetry({ errors: ['EventBridge.EventBridgeException', 'EventBridge.InternalException', 'States.TaskFailed'], maxAttempts: 2, interval: Duration.seconds(1) });
}

/** S3 errors of the built-in validator that a second try may cure. */
export function validatorRetry(t: sfn.TaskStateBase): void {
  t.addRetry({
    // PreconditionFailed: the object was replaced between HEAD and the magic-bytes read
    errors: ['SlowDown', 'InternalError', 'ServiceUnavailable', 'TimeoutError', 'ThrottlingException', 'PreconditionFailed'],
    maxAttempts: 3,
    interval: Duration.seconds(2),
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
}

/** Model throttling and transient errors, as configured by `reasoning.maxRetries` / `retryInterval`. */
export function modelRetry(t: sfn.TaskStateBase, errors: string[], r: BedrockConverseOptions): void {
  t.addRetry({
    errors,
    maxAttempts: r.maxRetries ?? 5,
    interval: r.retryInterval ?? Duration.seconds(2),
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
}

/** A tool's task: two retries of any task failure. */
export function toolRetry(t: sfn.TaskStateBase): void {
  t.addRetry({ errors: ['States.TaskFailed'], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
}
