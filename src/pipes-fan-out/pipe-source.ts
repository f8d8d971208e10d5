import { Duration, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { allowKey } from './internal';
import { throwArgumentError } from '../core/errors';
import { handlerDeadLetterQueue } from '../core/handlers';

/** Where a stream source starts reading when the pipe is created. */
export enum StartingPosition {
  /** The oldest record still in the stream (up to 24 hours back for DynamoDB Streams). */
  TRIM_HORIZON = 'TRIM_HORIZON',
  /** Only records written after the pipe starts. */
  LATEST = 'LATEST',
  /** Records from a point in time (Kinesis only: set `startingPositionTimestamp`). */
  AT_TIMESTAMP = 'AT_TIMESTAMP',
}

/** The stream-source parameters DynamoDB Streams and Kinesis share. */
export interface StreamSourceOptions {
  /** Where the pipe starts reading. */
  readonly startingPosition: StartingPosition;
  /**
   * Records per batch (1..10000). Batches go to the enrichment as one invocation; the SNS topic or
   * event bus receives the events one by one.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long the pipe gathers records before it sends a batch (0..300 seconds).
   * @default - no batching window (a batch is sent as soon as records are there)
   */
  readonly maximumBatchingWindow?: Duration;
  /**
   * Records older than this are not retried: they go to the source dead-letter target
   * (60 seconds..7 days). Pipes' own default is -1 (infinite); this construct keeps it finite.
   * @default Duration.days(1)
   */
  readonly maximumRecordAge?: Duration;
  /**
   * Retries of a failed batch before it goes to the source dead-letter target (0..10000). Pipes'
   * own default is -1 (infinite): one poison record would block its shard until it expires.
   * @default 3
   */
  readonly maximumRetryAttempts?: number;
  /**
   * Concurrent batches per shard (1..10). Above 1, records of one partition key keep their order,
   * records of different keys in the shard may not.
   * @default 1
   */
  readonly parallelizationFactor?: number;
  /**
   * Split a failed batch in two and retry each half (`OnPartialBatchItemFailure: AUTOMATIC_BISECT`),
   * so that one poison record does not fail its neighbours.
   * @default false
   */
  readonly bisectBatchOnItemFailure?: boolean;
  /**
   * A queue for the records that fail after the retries or exceed the record age (their metadata:
   * shard, sequence numbers; the records themselves stay in the stream until its retention ends).
   * Give at most one of `deadLetterQueue` and `deadLetterTopic`.
   * @default - a new encrypted, TLS-only SQS queue (14 days' retention) with a redrive allow policy
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * A standard SNS topic for the failed records' metadata, instead of a queue.
   * @default - a new queue (see `deadLetterQueue`)
   */
  readonly deadLetterTopic?: sns.ITopic;
}

/** Options of a DynamoDB stream source. */
export interface DynamoDbStreamSourceOptions extends StreamSourceOptions {}

/** Options of a Kinesis stream source. */
export interface KinesisStreamSourceOptions extends StreamSourceOptions {
  /**
   * With `StartingPosition.AT_TIMESTAMP`: the time to start reading from (required then, and only then).
   * @default - none
   */
  readonly startingPositionTimestamp?: Date;
}

/** Options of an SQS queue source. */
export interface SqsQueueSourceOptions {
  /**
   * Messages per batch (1..10000). Failed messages return to the queue and go to its own
   * dead-letter queue (its redrive policy) after its maxReceiveCount.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long the pipe gathers messages before it sends a batch (0..300 seconds).
   * @default - no batching window
   */
  readonly maximumBatchingWindow?: Duration;
}

/** What the pipe needs to bind a source. @internal */
export interface PipeSourceBindOptions {
  /** The pipe's role policy (gets exactly the source and DLQ rights). */
  readonly policy: iam.Policy;
  /** The customer key for a created DLQ. */
  readonly encryptionKey?: kms.IKey;
}

/** What a bound source gives the pipe. @internal */
export interface PipeSourceConfig {
  readonly sourceArn: string;
  readonly sourceParameters: pipes.CfnPipe.PipeSourceParametersProperty;
  /** The source dead-letter queue (created or given): alarmed. */
  readonly deadLetterQueue?: sqs.IQueue;
  readonly deadLetterTopic?: sns.ITopic;
  /** Statement ids the nag acknowledgements name (e.g. ListStreams on *). */
  readonly listStreamsOnAnyResource: boolean;
}

const DEFAULT_BATCH_SIZE = 10;
const DEFAULT_MAX_RETRY_ATTEMPTS = 3;
const DEFAULT_MAX_RECORD_AGE = Duration.days(1);

function checkRange(factory: string, argument: string, value: number | undefined, min: number, max: number, unit = ''): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (Number.isNaN(value) || !Number.isInteger(value) || value < min || value > max) {
    throwArgumentError(factory, argument, `must be an integer in ${min}..${max}${unit}, got ${value}`);
  }
}

function seconds(d: Duration | undefined): number | undefined {
  return d === undefined ? undefined : d.toSeconds();
}

/**
 * Where the pipe reads from: a DynamoDB stream, a Kinesis stream or an SQS queue. Made by the static
 * factories, which validate every parameter against the ranges of the Pipes API.
 */
export abstract class PipeSource {
  /**
   * A DynamoDB table's stream (the table must have one: `stream: StreamViewType.NEW_AND_OLD_IMAGES`
   * or another view type). Events are the stream records (`eventName`, `dynamodb.NewImage`...).
   * @param table the table whose stream the pipe reads
   * @param options starting position, batching, retries, record age and the dead-letter target
   */
  public static dynamoDbStream(table: dynamodb.ITable, options: DynamoDbStreamSourceOptions): PipeSource {
    const factory = 'PipeSource.dynamoDbStream';
    if (!table.tableStreamArn) {
      throwArgumentError(factory, 'table', `${table.node.path} has no stream: set its \`stream\` (e.g. StreamViewType.NEW_AND_OLD_IMAGES), or import it with \`tableStreamArn\``);
    }
    if (options.startingPosition === StartingPosition.AT_TIMESTAMP) {
      throwArgumentError(factory, 'options.startingPosition', 'DynamoDB streams start at TRIM_HORIZON or LATEST (AT_TIMESTAMP is for Kinesis streams)');
    }
    const params = validateStream(factory, options);
    return new StreamPipeSource(table.tableStreamArn, params, options, 'dynamodb', table.encryptionKey);
  }

  /**
   * A Kinesis data stream. `StartingPosition.AT_TIMESTAMP` needs `startingPositionTimestamp`.
   * @param stream the stream the pipe reads
   * @param options starting position, batching, retries, record age and the dead-letter target
   */
  public static kinesisStream(stream: kinesis.IStream, options: KinesisStreamSourceOptions): PipeSource {
    const factory = 'PipeSource.kinesisStream';
    const atTimestamp = options.startingPosition === StartingPosition.AT_TIMESTAMP;
    if (atTimestamp && !options.startingPositionTimestamp) {
      throwArgumentError(factory, 'options.startingPositionTimestamp', 'is required with StartingPosition.AT_TIMESTAMP');
    }
    if (!atTimestamp && options.startingPositionTimestamp) {
      throwArgumentError(factory, 'options.startingPositionTimestamp', `is only used with StartingPosition.AT_TIMESTAMP (startingPosition is ${options.startingPosition})`);
    }
    if (options.startingPositionTimestamp && Number.isNaN(options.startingPositionTimestamp.getTime())) {
      throwArgumentError(factory, 'options.startingPositionTimestamp', 'is not a valid date');
    }
    const params = validateStream(factory, options);
    return new StreamPipeSource(stream.streamArn, {
      ...params,
      startingPositionTimestamp: options.startingPositionTimestamp?.toISOString(),
    }, options, 'kinesis', stream.encryptionKey);
  }

  /**
   * An SQS queue. Messages the pipe cannot deliver return to the queue and, after its
   * maxReceiveCount, go to the queue's own dead-letter queue: give the queue a redrive policy.
   * @param queue the queue the pipe consumes
   * @param options batching
   */
  public static sqsQueue(queue: sqs.IQueue, options: SqsQueueSourceOptions = {}): PipeSource {
    const factory = 'PipeSource.sqsQueue';
    checkRange(factory, 'options.batchSize', options.batchSize, 1, 10000);
    checkRange(factory, 'options.maximumBatchingWindow', seconds(options.maximumBatchingWindow), 0, 300, ' seconds');
    return new SqsPipeSource(queue, options);
  }

  /** The ARN the pipe reads from. */
  public abstract readonly sourceArn: string;

  protected constructor() {}

  /** @internal */
  public abstract _bind(scope: Construct, options: PipeSourceBindOptions): PipeSourceConfig;
}

interface StreamParams {
  readonly batchSize: number;
  readonly maximumBatchingWindowInSeconds?: number;
  readonly maximumRecordAgeInSeconds: number;
  readonly maximumRetryAttempts: number;
  readonly parallelizationFactor?: number;
  readonly onPartialBatchItemFailure?: string;
  readonly startingPosition: string;
  readonly startingPositionTimestamp?: string;
}

function validateStream(factory: string, o: StreamSourceOptions): StreamParams {
  if (!Object.values(StartingPosition).includes(o.startingPosition)) {
    throwArgumentError(factory, 'options.startingPosition', `must be one of ${Object.values(StartingPosition).join(', ')}, got ${o.startingPosition}`);
  }
  checkRange(factory, 'options.batchSize', o.batchSize, 1, 10000);
  checkRange(factory, 'options.maximumBatchingWindow', seconds(o.maximumBatchingWindow), 0, 300, ' seconds');
  checkRange(factory, 'options.maximumRecordAge', seconds(o.maximumRecordAge), 60, 604800,
    ' seconds (1 minute..7 days; this construct does not offer an infinite record age)');
  checkRange(factory, 'options.maximumRetryAttempts', o.maximumRetryAttempts, 0, 10000,
    ' (this construct does not offer infinite retries: a poison record would block its shard)');
  checkRange(factory, 'options.parallelizationFactor', o.parallelizationFactor, 1, 10);
  if (o.deadLetterQueue && o.deadLetterTopic) {
    throwArgumentError(factory, 'options.deadLetterTopic', 'give at most one of deadLetterQueue and deadLetterTopic');
  }
  const topicName = o.deadLetterTopic?.topicName;
  if (topicName && !Token.isUnresolved(topicName) && topicName.endsWith('.fifo')) {
    throwArgumentError(factory, 'options.deadLetterTopic', `${topicName} is a FIFO topic; a Pipes dead-letter target must be a standard topic or a queue`);
  }
  return {
    startingPosition: o.startingPosition,
    batchSize: o.batchSize ?? DEFAULT_BATCH_SIZE,
    maximumBatchingWindowInSeconds: seconds(o.maximumBatchingWindow),
    maximumRecordAgeInSeconds: (o.maximumRecordAge ?? DEFAULT_MAX_RECORD_AGE).toSeconds(),
    maximumRetryAttempts: o.maximumRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS,
    parallelizationFactor: o.parallelizationFactor,
    onPartialBatchItemFailure: o.bisectBatchOnItemFailure ? 'AUTOMATIC_BISECT' : undefined,
  };
}

class StreamPipeSource extends PipeSource {
  constructor(
    public readonly sourceArn: string,
    private readonly params: StreamParams,
    private readonly options: StreamSourceOptions,
    private readonly kind: 'dynamodb' | 'kinesis',
    private readonly key?: kms.IKey,
  ) {
    super();
  }

  /** @internal */
  public _bind(scope: Construct, o: PipeSourceBindOptions): PipeSourceConfig {
    const topic = this.options.deadLetterTopic;
    const queue = topic ? undefined : this.options.deadLetterQueue
      ?? handlerDeadLetterQueue(scope, 'SourceDeadLetterQueue', 'the pipe\'s stream source', o.encryptionKey, []);
    const deadLetterArn = topic ? topic.topicArn : queue!.queueArn;
    if (topic) {
      o.policy.addStatements(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
      allowKey(o.policy, topic.masterKey, ['kms:Decrypt', 'kms:GenerateDataKey']);
    } else {
      o.policy.addStatements(new iam.PolicyStatement({ actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], resources: [queue!.queueArn] }));
      allowKey(o.policy, queue!.encryptionMasterKey, ['kms:Decrypt', 'kms:GenerateDataKey']);
    }
    let listStreamsOnAnyResource = false;
    if (this.kind === 'dynamodb') {
      o.policy.addStatements(new iam.PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [this.sourceArn],
      }));
      o.policy.addStatements(new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }));
      listStreamsOnAnyResource = true;
    } else {
      o.policy.addStatements(new iam.PolicyStatement({
        actions: ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'],
        resources: [this.sourceArn],
      }));
      o.policy.addStatements(new iam.PolicyStatement({ actions: ['kinesis:ListStreams'], resources: ['*'] }));
      listStreamsOnAnyResource = true;
    }
    allowKey(o.policy, this.key, ['kms:Decrypt']);
    const p = { ...this.params, deadLetterConfig: { arn: deadLetterArn } };
    const sourceParameters: pipes.CfnPipe.PipeSourceParametersProperty = this.kind === 'dynamodb'
      ? { dynamoDbStreamParameters: p }
      : { kinesisStreamParameters: p };
    return { sourceArn: this.sourceArn, sourceParameters, deadLetterQueue: queue, deadLetterTopic: topic, listStreamsOnAnyResource };
  }
}

class SqsPipeSource extends PipeSource {
  public readonly sourceArn: string;

  constructor(private readonly queue: sqs.IQueue, private readonly options: SqsQueueSourceOptions) {
    super();
    this.sourceArn = queue.queueArn;
  }

  /** @internal */
  public _bind(_scope: Construct, o: PipeSourceBindOptions): PipeSourceConfig {
    o.policy.addStatements(new iam.PolicyStatement({
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
      resources: [this.queue.queueArn],
    }));
    allowKey(o.policy, this.queue.encryptionMasterKey, ['kms:Decrypt']);
    return {
      sourceArn: this.sourceArn,
      sourceParameters: {
        sqsQueueParameters: {
          batchSize: this.options.batchSize ?? DEFAULT_BATCH_SIZE,
          maximumBatchingWindowInSeconds: seconds(this.options.maximumBatchingWindow),
        },
      },
      listStreamsOnAnyResource: false,
    };
  }
}
