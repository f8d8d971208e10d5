import { Annotations, ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeBasicExecutionRole, handlerDeadLetterQueue } from './handlers';
import { acknowledgeVpcAccessRole, HandlerNetwork } from './network';

/** Warning id: a log group (a handler's, or another the pattern creates) is encrypted with an imported key whose policy this app cannot extend. */
export const IMPORTED_KEY_LOGS_WARNING = 'cdk-production-patterns:importedKeyForHandlerLogs';

/** A projen-generated bundled handler class (`src/**\/runtime/*-function.ts`). @internal */
export type BundledFunctionClass<F extends lambda.Function> = new (scope: Construct, id: string, props?: lambda.FunctionOptions) => F;

/** Where the failed asynchronous invocations of a handler go. @internal */
export interface AsyncFailureOptions {
  /** Id of the dead-letter queue (its logical id: never change it). */
  readonly queueId: string;
  /** Who sends to it, for the acknowledgement ("the sync function and its schedule"). */
  readonly owner: string;
  /**
   * Service principals that also deliver dead letters to the queue (an EventBridge rule target's
   * DLQ, an SNS subscription's DLQ): they get the key.
   * @default ['events.amazonaws.com']
   */
  readonly senders?: string[];
}

/** The defaults every bundled handler shares, and what differs per pattern. @internal */
export interface BundledFunctionDefaults {
  /** Id of the function's log group (its logical id: never change it). */
  readonly logGroupId: string;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** The pattern's customer-managed key: encrypts the log group and the dead-letter queue. */
  readonly encryptionKey?: kms.IKey;
  /** For a handler invoked asynchronously (SNS, EventBridge, CloudFormation): its on-failure queue. */
  readonly asyncFailures?: AsyncFailureOptions;
  /** The pattern's handler network (`handlerNetwork()` validated it): the function runs in these subnets. */
  readonly network?: HandlerNetwork;
}

/** A bundled handler and what was created with it. @internal */
export interface BundledFunction<F extends lambda.Function> {
  readonly fn: F;
  readonly logGroup: logs.LogGroup;
  /** The on-failure queue (asyncFailures given). */
  readonly deadLetterQueue?: sqs.Queue;
}

/**
 * Creates a bundled handler with the one set of defaults: arm64, JSON logs into an explicit log
 * group (one year unless told, retained, encrypted with the pattern's key when there is one), X-Ray
 * active, and for asynchronous edges an on-failure destination into a dead-letter queue
 * (`handlerDeadLetterQueue`, with the key); the AWS managed basic execution role acknowledged.
 * `options` holds the function's own settings (memory, timeout, environment, concurrency,
 * description) and wins over the defaults; the log group and the failure destination are not options.
 * @internal
 */
export function bundledFunction<F extends lambda.Function>(
  scope: Construct, id: string, type: BundledFunctionClass<F>, options: lambda.FunctionOptions, defaults: BundledFunctionDefaults,
): BundledFunction<F> {
  const key = defaults.encryptionKey;
  const deadLetterQueue = defaults.asyncFailures
    ? handlerDeadLetterQueue(scope, defaults.asyncFailures.queueId, defaults.asyncFailures.owner, key, defaults.asyncFailures.senders)
    : undefined;
  if (key) allowLogsToUseKey(scope, key);
  const logGroup = new logs.LogGroup(scope, defaults.logGroupId, {
    retention: defaults.logRetention ?? logs.RetentionDays.ONE_YEAR,
    // Logs outlive the stack: what a handler did stays readable after the stack is deleted.
    removalPolicy: RemovalPolicy.RETAIN,
    encryptionKey: key,
  });
  const network = defaults.network;
  const fn = new type(scope, id, {
    architecture: lambda.Architecture.ARM_64,
    tracing: lambda.Tracing.ACTIVE,
    ...options,
    loggingFormat: lambda.LoggingFormat.JSON,
    logGroup,
    ...(network ? { vpc: network.vpc, vpcSubnets: network.vpcSubnets, securityGroups: network.securityGroups } : {}),
    ...(deadLetterQueue ? { onFailure: new QueueFailureDestination(deadLetterQueue), retryAttempts: options.retryAttempts ?? 2 } : {}),
  });
  acknowledgeBasicExecutionRole(fn);
  if (network) acknowledgeVpcAccessRole(fn);
  if (deadLetterQueue) {
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Failed asynchronous invocations go to an on-failure destination (an SQS queue), which keeps the request and the error, more than a DLQ would.',
    });
  }
  return { fn, logGroup, deadLetterQueue };
}

/**
 * An on-failure destination into an SQS queue, granting what Lambda needs to send (the function's
 * role sends): `sqs:SendMessage`, and with a customer key `kms:Decrypt` and `kms:GenerateDataKey` on
 * that key, where `SqsDestination` would grant `kms:GenerateDataKey*` and `kms:ReEncrypt*`.
 */
class QueueFailureDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  public bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    const key = this.queue.encryptionMasterKey;
    if (key) fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [key.keyArn] }));
    return { destination: this.queue.queueArn };
  }
}

/**
 * Lets CloudWatch Logs use the key for the log groups of this account and region (once per key). A
 * key defined in this app gets the statement; an imported key's policy must already allow it (a
 * warning on `scope` says so). Call it for every log group a pattern encrypts with its key.
 * @internal
 */
export function allowLogsToUseKey(scope: Construct, key: kms.IKey): void {
  if (keysAllowingLogs.has(key)) return;
  keysAllowingLogs.add(key);
  const stack = Stack.of(scope);
  const { statementAdded } = key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
    actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'],
    resources: ['*'],
    conditions: {
      ArnLike: {
        'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      },
    },
  }));
  if (!statementAdded) {
    Annotations.of(scope).addWarningV2(IMPORTED_KEY_LOGS_WARNING,
      'The encryption key is imported: its key policy must allow logs.<region>.amazonaws.com to use it for log groups (kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey), or the log groups encrypted with it fail to create.');
  }
}

const keysAllowingLogs = new WeakSet<kms.IKey>();
