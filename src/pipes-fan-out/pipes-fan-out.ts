import { Annotations, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CircuitBreakerOptions, PipeCircuitBreaker } from './circuit-breaker';
import { BoundChannel, FanOutChannel } from './fan-out-channel';
import { acknowledgeConsumerEventSource, acknowledgeListStreams } from './nag';
import { patternProblems } from './pattern-check';
import { PipeEnrichment } from './pipe-enrichment';
import { ConsumerFilter, PipeFilter } from './pipe-filter';
import { PipeSource, PipeSourceConfig } from './pipe-source';
import { PipesFanOutWarnings } from './warnings';
import { alarmMaker } from '../core/alarms';
import { checkFactoryMade, throwPropError, validateRange } from '../core/errors';
import { allowLogsToUseKey } from '../core/functions';
import { HandlerNetworkProps } from '../core/handler-network-props';
import { handlerDeadLetterQueue } from '../core/handlers';

/** How much the pipe logs. */
export enum PipeLogLevel {
  /** Nothing. */
  OFF = 'OFF',
  /** Failed executions only. */
  ERROR = 'ERROR',
  /** Failures and the steps of each execution. */
  INFO = 'INFO',
  /** Everything, including each stage's inputs when execution data is included. */
  TRACE = 'TRACE',
}

/** Properties of a PipesFanOut. */
export interface PipesFanOutProps extends HandlerNetworkProps {
  /** Where the pipe reads: `PipeSource.dynamoDbStream(...)`, `.kinesisStream(...)` or `.sqsQueue(...)`. */
  readonly source: PipeSource;
  /**
   * Which source events go on (EventBridge patterns in the Pipes dialect; filtered-out events are not billed).
   * @default - every event
   */
  readonly filter?: PipeFilter;
  /**
   * What enriches the filtered events before the fan-out (Lambda, Express state machine, API destination).
   * @default - no enrichment
   */
  readonly enrichment?: PipeEnrichment;
  /**
   * Where the pipe delivers, fanning out to the consumers.
   * @default FanOutChannel.snsTopic()
   */
  readonly channel?: FanOutChannel;
  /**
   * An input template for the target: what the channel receives instead of the (enriched) event.
   * @default - the (enriched) event
   */
  readonly targetInputTemplate?: string;
  /**
   * A customer-managed key for what the construct stores: the pipe's log group, the source
   * dead-letter queue, the SNS topic and the consumer queues and their dead-letter queues. A key
   * defined in this app gets the key-policy statements CloudWatch Logs and the channel's service
   * (SNS or EventBridge) need; an imported key's policy must already allow them (warning
   * `PipesFanOutWarnings.IMPORTED_KEY`). Never an AWS managed key for queues: SNS cannot use it
   * to deliver, and messages are silently dropped (aws-cdk #19796).
   * @default - SSE-SQS for queues, the AWS managed key `alias/aws/sns` for the topic, CloudWatch Logs' own encryption for the log group
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * How much the pipe logs to its CloudWatch Logs log group.
   * @default PipeLogLevel.ERROR
   */
  readonly logLevel?: PipeLogLevel;
  /**
   * Include execution data (event payloads, AWS requests and responses) in the log records. They
   * are not redacted and may hold personal data (warning `PipesFanOutWarnings.EXECUTION_DATA_LOGGED`).
   * @default false
   */
  readonly logIncludeExecutionData?: boolean;
  /**
   * Retention of the pipe's log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Topic every alarm notifies (CT.CLOUDWATCH.PR.1 asks every alarm for an action).
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The age of a consumer queue's oldest message that raises its alarm (1 minute..14 days).
   * @default Duration.minutes(15)
   */
  readonly consumerMessageAgeAlarmThreshold?: Duration;
  /**
   * Create a CloudWatch dashboard of the pipe and its consumers.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Stop the pipe when a consumer fails (its dead-letter queue receives messages, or its handler's
   * error rate crosses the threshold), so that events wait in the source instead of flooding the
   * dead-letter queues; start it again when the alarms are OK, or only by hand (the default). A
   * stopped stream source loses records after its retention (24 hours for DynamoDB Streams): the
   * breaker alarms loudly. Its handler runs in `handlerVpc` when given.
   * @default - no circuit breaker
   */
  readonly circuitBreaker?: CircuitBreakerOptions;
  /**
   * A description of the pipe (at most 512 characters).
   * @default - none
   */
  readonly description?: string;
}

/** Options of one consumer. */
export interface FanOutConsumerOptions {
  /**
   * A Lambda function that processes the consumer's queue (SQS event source with
   * `reportBatchItemFailures`: return `{ batchItemFailures: [{ itemIdentifier }] }` for the messages that failed).
   * @default - no function: read the queue yourself
   */
  readonly handler?: lambda.IFunction;
  /**
   * The consumer's queue. Its own redrive policy and encryption key policy are yours
   * (warning `PipesFanOutWarnings.CONSUMER_QUEUE_IMPORTED`); the construct still creates a
   * dead-letter queue for failed deliveries (subscription or rule).
   * @default - a new queue: encrypted, TLS only, with a dead-letter queue
   */
  readonly queue?: sqs.IQueue;
  /**
   * Which events the consumer receives (checked in the channel's dialect: SNS filter policy or
   * EventBridge pattern).
   * @default - every event the pipe delivers
   */
  readonly filter?: ConsumerFilter;
  /**
   * Receives of a message before it goes to the dead-letter queue (1..1000). New queues only.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Visibility timeout of a new queue (0 seconds..12 hours; at least the handler's timeout).
   * @default - six times the handler's timeout when it is known, else 5 minutes
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Retention of a new queue (1 minute..14 days; its dead-letter queue keeps messages 14 days).
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;
  /**
   * Messages per handler invocation (1..10000; above 10 needs `maxBatchingWindow`).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long the event source gathers messages before invoking the handler (0..300 seconds).
   * @default - none
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Concurrent handler invocations of the event source (2..1000).
   * @default - no limit besides the function's own concurrency
   */
  readonly maxConcurrency?: number;
}

/** One consumer of a PipesFanOut: its queue, dead-letter queue, delivery and alarms. */
export interface FanOutConsumer {
  /** The consumer's id (as given to `addConsumer`). */
  readonly id: string;
  /** The queue the channel delivers to. */
  readonly queue: sqs.IQueue;
  /** Where messages go after maxReceiveCount receives, and deliveries that failed. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The handler reading the queue.
   * @default - none (the consumer reads its queue itself)
   */
  readonly handler?: lambda.IFunction;
  /**
   * The SNS subscription (SNS channel).
   * @default - none (event-bus channel)
   */
  readonly subscription?: sns.Subscription;
  /**
   * The EventBridge rule (event-bus channel).
   * @default - none (SNS channel)
   */
  readonly rule?: events.Rule;
  /** Alarm: messages in the dead-letter queue. */
  readonly deadLettersAlarm: cloudwatch.Alarm;
  /** Alarm: the queue's oldest message is older than the threshold. */
  readonly messageAgeAlarm: cloudwatch.Alarm;
  /**
   * Alarm: the handler's error rate crossed the circuit breaker's threshold.
   * @default - none (only with a circuit breaker and a handler)
   */
  readonly errorRateAlarm?: cloudwatch.Alarm;
}

const PIPES_NAMESPACE = 'AWS/EventBridge/Pipes';

/**
 * EventBridge Pipes filtering and enrichment, fanned out to many consumers with nothing lost: a
 * pipe from a DynamoDB stream, Kinesis stream or SQS queue (finite retries and record age, a
 * source dead-letter queue from the first deploy) through an optional filter and enrichment to an
 * SNS topic or EventBridge bus, and one queue, dead-letter queue, filter and optional Lambda per
 * consumer (`addConsumer`).
 */
export class PipesFanOut extends Construct {
  /** The pipe (L1). */
  public readonly pipe: pipes.CfnPipe;
  /** The pipe's name (the dimension of its metrics). */
  public readonly pipeName: string;
  /** The pipe's ARN. */
  public readonly pipeArn: string;
  /** The pipe's execution role. */
  public readonly role: iam.Role;
  /** The role's policy: exactly the source, enrichment, target, dead-letter and log rights. */
  public readonly rolePolicy: iam.Policy;
  /** The pipe's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The SNS topic (SNS channel). */
  public readonly topic?: sns.ITopic;
  /** The event bus (event-bus channel). */
  public readonly eventBus?: events.IEventBus;
  /** The source dead-letter queue (stream sources, unless a topic was given). */
  public readonly sourceDeadLetterQueue?: sqs.IQueue;
  /** The dashboard, unless turned off. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The pipe-level alarms: executions failed and throttled[, source dead letters][, the circuit breaker's]. */
  public readonly alarms: cloudwatch.IAlarm[];
  /** The circuit breaker, when `circuitBreaker` is set. */
  public readonly circuitBreaker?: PipeCircuitBreaker;

  private readonly channel: BoundChannel;
  private readonly encryptionKey?: kms.IKey;
  private readonly alarmTopic?: sns.ITopic;
  private readonly messageAgeThreshold: Duration;
  private readonly consumers = new Map<string, FanOutConsumer>();
  private readonly breakerOptions?: CircuitBreakerOptions;
  /** The consumer alarms that trip the circuit breaker (read at synth time, so consumers added later count). */
  private readonly breakerInputs: cloudwatch.IAlarm[] = [];

  constructor(scope: Construct, id: string, props: PipesFanOutProps) {
    super(scope, id);
    checkFactoryMade(this, 'source', props.source, 'PipeSource', ['dynamoDbStream', 'kinesisStream', 'sqsQueue']);
    if (props.enrichment) checkFactoryMade(this, 'enrichment', props.enrichment, 'PipeEnrichment', ['lambdaFunction', 'stateMachine', 'apiDestination']);
    if (props.channel) checkFactoryMade(this, 'channel', props.channel, 'FanOutChannel', ['snsTopic', 'eventBus']);
    if (props.filter && !Array.isArray((props.filter as { patterns?: unknown }).patterns)) {
      throwPropError(this, 'filter', 'must be made by PipeFilter.fromEventPatterns(), dynamoDbEventNames() or dynamoDbNewImageEquals()');
    }
    const logLevel = props.logLevel ?? PipeLogLevel.ERROR;
    if (!Object.values(PipeLogLevel).includes(logLevel)) throwPropError(this, 'logLevel', `must be OFF, ERROR, INFO or TRACE, got ${logLevel}`);
    if (props.description !== undefined && !Token.isUnresolved(props.description) && props.description.length > 512) {
      throwPropError(this, 'description', `must be at most 512 characters, got ${props.description.length}`);
    }
    if (props.targetInputTemplate !== undefined && !Token.isUnresolved(props.targetInputTemplate)
      && (props.targetInputTemplate.length === 0 || props.targetInputTemplate.length > 8192)) {
      throwPropError(this, 'targetInputTemplate', `must be 1..8192 characters, got ${props.targetInputTemplate.length}`);
    }
    this.messageAgeThreshold = props.consumerMessageAgeAlarmThreshold ?? Duration.minutes(15);
    validateRange(this, 'consumerMessageAgeAlarmThreshold', this.messageAgeThreshold.toSeconds(), 60, 1209600);
    if (props.logIncludeExecutionData) {
      Annotations.of(this).addWarningV2(PipesFanOutWarnings.EXECUTION_DATA_LOGGED,
        'logIncludeExecutionData is on: the pipe\'s log records hold event payloads and AWS requests and responses, unredacted (possibly personal data).');
    }
    this.encryptionKey = props.encryptionKey;
    this.alarmTopic = props.alarmTopic;

    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'Role', {
      description: `Execution role of the pipe ${this.node.path}`,
      assumedBy: new iam.ServicePrincipal('pipes.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
    });
    this.rolePolicy = new iam.Policy(this, 'RolePolicy', { roles: [this.role] });

    const source: PipeSourceConfig = props.source._bind(this, { policy: this.rolePolicy, encryptionKey: props.encryptionKey });
    this.sourceDeadLetterQueue = source.deadLetterQueue;
    if (source.listStreamsOnAnyResource) {
      acknowledgeListStreams(this.rolePolicy, source.sourceParameters.dynamoDbStreamParameters ? 'dynamodb' : 'kinesis');
    }
    const enrichment = props.enrichment?._bind(this.rolePolicy);
    this.channel = (props.channel ?? FanOutChannel.snsTopic())._bind(this, { policy: this.rolePolicy, encryptionKey: props.encryptionKey });
    this.topic = this.channel.topic;
    this.eventBus = this.channel.eventBus;

    if (props.encryptionKey) allowLogsToUseKey(this, props.encryptionKey);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.encryptionKey,
    });
    this.rolePolicy.addStatements(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));

    const targetParameters = props.targetInputTemplate
      ? { ...this.channel.targetParameters, inputTemplate: props.targetInputTemplate }
      : this.channel.targetParameters;
    this.pipe = new pipes.CfnPipe(this, 'Pipe', {
      roleArn: this.role.roleArn,
      description: props.description,
      source: source.sourceArn,
      sourceParameters: {
        ...source.sourceParameters,
        filterCriteria: props.filter ? { filters: props.filter.patterns.map((pattern) => ({ pattern })) } : undefined,
      },
      enrichment: enrichment?.arn,
      enrichmentParameters: enrichment?.parameters,
      target: this.channel.targetArn,
      targetParameters,
      logConfiguration: {
        level: logLevel,
        cloudwatchLogsLogDestination: { logGroupArn: this.logGroup.logGroupArn },
        includeExecutionData: props.logIncludeExecutionData ? ['ALL'] : undefined,
      },
    });
    // The role must hold its rights before the pipe is created, or creation fails (ReceiveMessage...).
    this.pipe.node.addDependency(this.rolePolicy);
    this.pipeName = this.pipe.ref;
    this.pipeArn = this.pipe.attrArn;

    const make = alarmMaker(this, props.alarmTopic);
    this.alarms = [
      make('ExecutionFailedAlarm', this.metricExecutionFailed(), 'Pipe executions failed (they are retried; after the retries or the record age, records go to the source dead-letter target).'),
      make('ExecutionThrottledAlarm', this.metricExecutionThrottled(), 'Pipe executions were throttled (raise the Pipes concurrency quota if sustained).', { threshold: 5 }),
    ];
    if (source.deadLetterQueue) {
      this.alarms.push(make('SourceDeadLettersAlarm',
        source.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        'Source records failed after the retries or the record age: their metadata waits in the source dead-letter queue; re-read them from the stream before its retention ends.'));
    }
    if (props.circuitBreaker) {
      this.breakerOptions = props.circuitBreaker;
      validateRange(this, 'circuitBreaker.deadLetterThreshold', props.circuitBreaker.deadLetterThreshold, 1, 1000000, { integer: true });
      validateRange(this, 'circuitBreaker.errorRatePercent', props.circuitBreaker.errorRatePercent, 1, 100);
      // One composite alarm of every consumer's breaker alarms: its rule is rendered at synth time, so
      // consumers added after construction trip the breaker too (FALSE while there is none).
      const consumersFailing = new cloudwatch.CompositeAlarm(this, 'ConsumersFailingAlarm', {
        alarmDescription: 'A consumer of the pipe is failing (dead letters or handler error rate): the circuit breaker stops the pipe.',
        alarmRule: {
          renderAlarmRule: () => Lazy.string({
            produce: () => this.breakerInputs.length === 0
              ? cloudwatch.AlarmRule.fromBoolean(false).renderAlarmRule()
              : cloudwatch.AlarmRule.anyOf(
                ...this.breakerInputs.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM)),
              ).renderAlarmRule(),
          }),
        },
      });
      if (props.alarmTopic) consumersFailing.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
      this.circuitBreaker = new PipeCircuitBreaker(this, 'CircuitBreaker', {
        pipeName: this.pipeName,
        pipeArn: this.pipeArn,
        alarms: [consumersFailing, ...props.circuitBreaker.alarms ?? []],
        autoRestart: props.circuitBreaker.autoRestart,
        encryptionKey: props.encryptionKey,
        alarmTopic: props.alarmTopic,
        handlerVpc: props.handlerVpc,
        handlerVpcSubnets: props.handlerVpcSubnets,
        handlerSecurityGroups: props.handlerSecurityGroups,
      });
      this.alarms.push(consumersFailing, ...this.circuitBreaker.breakerAlarms);
    } else if (props.handlerVpc || props.handlerVpcSubnets || props.handlerSecurityGroups) {
      throwPropError(this, 'handlerVpc', 'places the circuit breaker\'s handler, the only function this construct creates: set circuitBreaker, or leave it out');
    }
    if (props.dashboard ?? true) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
        widgets: [[
          new cloudwatch.GraphWidget({
            title: 'Pipe',
            width: 12,
            left: [this.metricInvocations(), this.metricEventCount()],
            right: [this.metricExecutionFailed(), this.metricExecutionThrottled(), this.metricExecutionTimeout()],
          }),
          new cloudwatch.GraphWidget({
            title: 'Stages',
            width: 12,
            left: [this.metricDuration()],
            right: [this.metricEnrichmentStageFailed(), this.metricTargetStageFailed()],
          }),
        ]],
      });
    }
  }

  /**
   * Adds a consumer: its queue (new, or yours), a dead-letter queue, the channel's delivery (an SNS
   * subscription with raw message delivery, or an event-bus rule) with its filter, alarms, and
   * optionally a Lambda reading the queue. Works at any time after construction.
   * @param id the consumer's id (a construct id in this construct: unique, stable)
   * @param options the handler, queue, filter and limits
   */
  public addConsumer(id: string, options: FanOutConsumerOptions = {}): FanOutConsumer {
    if (this.consumers.has(id) || this.node.tryFindChild(id)) throwPropError(this, 'addConsumer.id', `a consumer or child named "${id}" exists already`);
    const scope = new Construct(this, id);
    const o = options;
    validateRange(scope, 'maxReceiveCount', o.maxReceiveCount, 1, 1000, { integer: true });
    validateRange(scope, 'batchSize', o.batchSize, 1, 10000, { integer: true });
    validateRange(scope, 'maxBatchingWindow', o.maxBatchingWindow?.toSeconds(), 0, 300);
    validateRange(scope, 'maxConcurrency', o.maxConcurrency, 2, 1000, { integer: true });
    validateRange(scope, 'visibilityTimeout', o.visibilityTimeout?.toSeconds(), 0, 43200);
    validateRange(scope, 'retentionPeriod', o.retentionPeriod?.toSeconds(), 60, 1209600);
    if ((o.batchSize ?? 10) > 10 && !o.maxBatchingWindow) throwPropError(scope, 'maxBatchingWindow', 'is required when batchSize is above 10 (SQS event sources)');
    if (!o.handler && (o.batchSize !== undefined || o.maxBatchingWindow || o.maxConcurrency !== undefined)) {
      throwPropError(scope, 'handler', 'batchSize, maxBatchingWindow and maxConcurrency configure the handler\'s event source: give a handler');
    }
    if (o.queue && (o.maxReceiveCount !== undefined || o.visibilityTimeout || o.retentionPeriod)) {
      throwPropError(scope, 'queue', 'maxReceiveCount, visibilityTimeout and retentionPeriod configure a new queue; set them on your queue');
    }
    let filterPattern: { [key: string]: any } | undefined;
    if (o.filter) {
      if (!(o.filter as { pattern?: unknown }).pattern) throwPropError(scope, 'filter', 'must be made by ConsumerFilter.onBody()');
      const problems = patternProblems(o.filter.pattern, this.channel.patternMode);
      if (problems.length > 0) throwPropError(scope, 'filter', `is not valid as ${this.channel.filterKind}: ${problems.join('; ')}`);
      filterPattern = o.filter.pattern;
    }
    const handlerTimeout = (o.handler as { timeout?: Duration } | undefined)?.timeout;
    if (handlerTimeout && o.visibilityTimeout && o.visibilityTimeout.toSeconds() < handlerTimeout.toSeconds()) {
      throwPropError(scope, 'visibilityTimeout', `must be at least the handler's timeout (${handlerTimeout.toHumanString()}), got ${o.visibilityTimeout.toHumanString()}`);
    }

    const key = this.encryptionKey;
    const principal = this.channel.deliveryPrincipal;
    const deadLetterQueue = handlerDeadLetterQueue(scope, 'DeadLetterQueue', `the consumer ${id} (its queue and its deliveries)`, key, [principal]);
    let queue: sqs.IQueue;
    if (o.queue) {
      queue = o.queue;
      Annotations.of(scope).addWarningV2(PipesFanOutWarnings.CONSUMER_QUEUE_IMPORTED,
        `The consumer ${id} brings its own queue: give it a redrive policy (dead-letter queue), and if a customer key encrypts it, a key policy that lets ${principal} use it.`);
    } else {
      queue = new sqs.Queue(scope, 'Queue', {
        encryption: key ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
        encryptionMasterKey: key,
        enforceSSL: true,
        visibilityTimeout: o.visibilityTimeout ?? (handlerTimeout ? Duration.seconds(handlerTimeout.toSeconds() * 6) : Duration.minutes(5)),
        retentionPeriod: o.retentionPeriod ?? Duration.days(4),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: o.maxReceiveCount ?? 5 },
      });
      // SNS and EventBridge encrypt with the queue's key as themselves (the key policy must allow them).
      if (key) {
        key.grant(new iam.ServicePrincipal(principal, { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
          'kms:Decrypt', 'kms:GenerateDataKey');
      }
    }
    const delivery = this.channel.subscribe(scope, { queue, deadLetterQueue, filterPattern });
    if (o.handler) {
      o.handler.addEventSource(new lambdaEvents.SqsEventSource(queue, {
        batchSize: o.batchSize ?? 10,
        maxBatchingWindow: o.maxBatchingWindow,
        maxConcurrency: o.maxConcurrency,
        reportBatchItemFailures: true,
      }));
      acknowledgeConsumerEventSource(o.handler);
    }
    const make = alarmMaker(scope, this.alarmTopic);
    const breaker = this.breakerOptions;
    const deadLettersAlarm = make('DeadLettersAlarm',
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(breaker ? 1 : 5), statistic: 'Maximum' }),
      `Messages for the consumer ${id} failed (after maxReceiveCount receives, or their delivery): they wait in its dead-letter queue.`
      + (breaker ? ' The circuit breaker stops the pipe.' : ''),
      { threshold: breaker?.deadLetterThreshold ?? 1 });
    let errorRateAlarm: cloudwatch.Alarm | undefined;
    if (breaker) {
      this.breakerInputs.push(deadLettersAlarm);
      if (o.handler) {
        const percent = breaker.errorRatePercent ?? 10;
        const period = Duration.minutes(5);
        errorRateAlarm = make('HandlerErrorRateAlarm', new cloudwatch.MathExpression({
          expression: '100 * errors / MAX([invocations, 1])',
          usingMetrics: {
            errors: o.handler.metricErrors({ period, statistic: 'Sum' }),
            invocations: o.handler.metricInvocations({ period, statistic: 'Sum' }),
          },
          period,
          label: `Error rate of the consumer ${id} (%)`,
        }), `The handler of the consumer ${id} fails ${percent}% or more of its invocations: the circuit breaker stops the pipe.`, { threshold: percent });
        this.breakerInputs.push(errorRateAlarm);
      }
    }
    const messageAgeAlarm = make('MessageAgeAlarm',
      queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
      `The consumer ${id} falls behind: its oldest message is older than ${this.messageAgeThreshold.toHumanString()}.`,
      { threshold: this.messageAgeThreshold.toSeconds() });
    const consumer: FanOutConsumer = {
      id,
      queue,
      deadLetterQueue,
      handler: o.handler,
      subscription: delivery.subscription,
      rule: delivery.rule,
      deadLettersAlarm,
      messageAgeAlarm,
      errorRateAlarm,
    };
    this.consumers.set(id, consumer);
    this.dashboard?.addWidgets(new cloudwatch.GraphWidget({
      title: `Consumer ${id}`,
      width: 24,
      left: [queue.metricApproximateNumberOfMessagesVisible(), deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'Dead letters' })],
      right: [queue.metricApproximateAgeOfOldestMessage()],
    }));
    return consumer;
  }

  /**
   * The consumer with this id.
   * @param id the id given to `addConsumer`
   */
  public consumer(id: string): FanOutConsumer {
    const c = this.consumers.get(id);
    if (!c) throw new Error(`${this.node.path}: no consumer "${id}" (consumers: ${[...this.consumers.keys()].join(', ') || 'none'})`);
    return c;
  }

  /** The ids of the consumers, in the order they were added. */
  public get consumerIds(): string[] {
    return [...this.consumers.keys()];
  }

  /**
   * A metric of the pipe (namespace AWS/EventBridge/Pipes, dimension PipeName; sum over 5 minutes by default).
   * @param metricName e.g. `ExecutionFailed`
   * @param props overrides
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: PIPES_NAMESPACE,
      metricName,
      dimensionsMap: { PipeName: this.pipeName },
      period: Duration.minutes(5),
      statistic: 'Sum',
      ...props,
    });
  }

  /**
   * Failed executions.
   * @param props overrides
   */
  public metricExecutionFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ExecutionFailed', props);
  }

  /**
   * Throttled executions.
   * @param props overrides
   */
  public metricExecutionThrottled(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ExecutionThrottled', props);
  }

  /**
   * Executions that timed out.
   * @param props overrides
   */
  public metricExecutionTimeout(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ExecutionTimeout', props);
  }

  /**
   * Executions that partially failed.
   * @param props overrides
   */
  public metricExecutionPartiallyFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ExecutionPartiallyFailed', props);
  }

  /**
   * Failed enrichment stages.
   * @param props overrides
   */
  public metricEnrichmentStageFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('EnrichmentStageFailed', props);
  }

  /**
   * Failed target stages (publishing to the channel).
   * @param props overrides
   */
  public metricTargetStageFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('TargetStageFailed', props);
  }

  /**
   * Pipe invocations.
   * @param props overrides
   */
  public metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocations', props);
  }

  /**
   * Events the pipe processed (after filtering).
   * @param props overrides
   */
  public metricEventCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('EventCount', props);
  }

  /**
   * Execution duration (milliseconds, average by default).
   * @param props overrides
   */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Duration', { statistic: 'Average', ...props });
  }
}
