import { Annotations, Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { HandlerFactory } from './approval-endpoint';
import { StarterFunction } from './runtime/starter-function';
import { AgentWorkflowWarnings } from './warnings';
import { handlerDeadLetterQueue } from '../core/handlers';

/** Options of the S3 trigger. */
export interface S3TriggerOptions {
  /**
   * Only keys starting with this prefix start an execution (and a manual start naming another
   * prefix is rejected as invalid input).
   * @default - every key
   */
  readonly prefix?: string;
  /**
   * Only keys ending with this suffix start an execution.
   * @default - every key
   */
  readonly suffix?: string;
}

/** What starts an execution. */
export class AgentTrigger {
  /**
   * S3 "Object Created" events through EventBridge, buffered in an SQS queue (with a DLQ) and
   * started by a small function that names each execution after the object key and version, so a
   * duplicate event never starts a duplicate execution. EventBridge notifications are enabled on
   * the bucket when it is defined in this app (an imported bucket must have them enabled already).
   * @param bucket the bucket uploads arrive in (the workflow may read nothing else)
   * @param options the key prefix and suffix that start an execution
   */
  public static s3ObjectCreated(bucket: s3.IBucket, options: S3TriggerOptions = {}): AgentTrigger {
    return new AgentTrigger(bucket, options.prefix ?? '', options.suffix ?? '');
  }

  /**
   * Started by `StartExecution` only (API, SDK, another workflow).
   *
   * The input is `{ "bucket": "...", "key": "...", "versionId": null, "actorId": null, "sessionId": null }`.
   * @param bucket the bucket inputs are read from (the workflow may read nothing else)
   * @param prefix the key prefix inputs must have (by default any key)
   */
  public static manual(bucket: s3.IBucket, prefix?: string): AgentTrigger {
    return new AgentTrigger(bucket, prefix ?? '', '', true);
  }

  private constructor(
    /** The bucket the inputs live in. */
    public readonly bucket: s3.IBucket,
    /** Key prefix ('' = any). */
    public readonly prefix: string,
    /** Key suffix ('' = any). */
    public readonly suffix: string,
    /** @internal */ public readonly _manualOnly = false,
  ) {}

  /**
   * Creates what delivers the trigger's events to the state machine, in `scope` (the workflow):
   * the rule, the queue and its dead-letter queue, and the starter function. A manual trigger
   * creates nothing.
   * @internal
   */
  public _bind(scope: Construct, target: AgentTriggerTarget): BoundAgentTrigger | undefined {
    if (this._manualOnly) return undefined;
    if (this.bucket instanceof s3.Bucket) {
      this.bucket.enableEventBridgeNotification();
    } else {
      Annotations.of(scope).addWarningV2(AgentWorkflowWarnings.TRIGGER_BUCKET_IMPORTED,
        'The trigger bucket is imported: make sure its EventBridge notifications are enabled, or no execution will start.');
    }
    const key = target.encryptionKey;
    const deadLetterQueue = handlerDeadLetterQueue(scope, 'TriggerDeadLetterQueue', 'the trigger queue and rule', key);
    const queue = new sqs.Queue(scope, 'TriggerQueue', {
      encryption: key ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: key,
      enforceSSL: true,
      visibilityTimeout: Duration.minutes(3),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
    });
    const escape = (s: string) => s.replace(/\*/g, '\\*');
    const keyMatch = this.prefix && this.suffix
      ? events.Match.wildcard(`${escape(this.prefix)}*${escape(this.suffix)}`)
      : this.prefix ? events.Match.prefix(this.prefix) : this.suffix ? events.Match.suffix(this.suffix) : undefined;
    new events.Rule(scope, 'ObjectCreatedRule', {
      description: 'S3 Object Created events that start the agent workflow',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.bucket.bucketName] },
          ...(keyMatch ? { object: { key: keyMatch } } : {}),
        },
      },
      targets: [new targets.SqsQueue(queue, { deadLetterQueue, retryAttempts: 8 })],
    });
    const starter = target.handler(StarterFunction, 'StarterFunction', 'Starter', {
      description: 'Agent workflow: starts one execution per uploaded object (deduplicated by name)',
    });
    starter.addEnvironment('STATE_MACHINE_ARN', target.stateMachine.stateMachineArn);
    target.stateMachine.grantStartExecution(starter);
    starter.addEventSource(new lambdaEvents.SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }));
    return { queue, deadLetterQueue, starter };
  }
}

/** What a trigger delivers to. @internal */
export interface AgentTriggerTarget {
  readonly stateMachine: sfn.IStateMachine;
  /** Creates the starter function with the workflow's handler defaults. */
  readonly handler: HandlerFactory;
  readonly encryptionKey?: kms.IKey;
}

/** What a trigger created. @internal */
export interface BoundAgentTrigger {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly starter: lambda.Function;
}
