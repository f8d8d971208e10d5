import { Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { allowKey } from './internal';
import type { PatternMode } from './pattern-check';
import { throwArgumentError } from '../core/errors';

/** Options of the SNS channel. */
export interface SnsTopicChannelOptions {
  /**
   * An existing standard topic to publish to. SNS FIFO topics cannot be Pipes targets: a topic
   * whose name ends in `.fifo` (when the name is known at synth time) is rejected.
   * @default - a new standard topic, TLS only, encrypted with `encryptionKey` of the construct or the AWS managed key `alias/aws/sns`
   */
  readonly topic?: sns.ITopic;
}

/** Options of the event-bus channel. */
export interface EventBusChannelOptions {
  /**
   * An existing custom event bus (same account and Region as the pipe).
   * @default - a new custom event bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * The `source` of the events the pipe puts on the bus (not starting with `aws.`).
   * @default 'pipes-fan-out'
   */
  readonly source?: string;
  /**
   * The `detail-type` of the events the pipe puts on the bus.
   * @default 'Pipe Event'
   */
  readonly detailType?: string;
}

/** What the construct gives a channel to bind. @internal */
export interface ChannelBindOptions {
  readonly policy: iam.Policy;
  readonly encryptionKey?: kms.IKey;
}

/** A consumer's delivery: its queue, its DLQ for failed deliveries, its filter. @internal */
export interface ChannelSubscribeOptions {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly filterPattern?: { [key: string]: any };
}

/** What a bound channel gives the construct. @internal */
export interface BoundChannel {
  readonly targetArn: string;
  readonly targetParameters?: pipes.CfnPipe.PipeTargetParametersProperty;
  readonly topic?: sns.ITopic;
  readonly eventBus?: events.IEventBus;
  /** The service principal that delivers to the consumer queues and their DLQs. */
  readonly deliveryPrincipal: string;
  /** The dialect of the consumer filters. */
  readonly patternMode: PatternMode;
  /** What `filter` of a consumer becomes, in words (for errors). */
  readonly filterKind: string;
  subscribe(scope: Construct, options: ChannelSubscribeOptions): { subscription?: sns.Subscription; rule?: events.Rule };
}

/**
 * Where the pipe delivers, and how each consumer gets its share: an SNS standard topic (one
 * subscription per consumer, raw message delivery, a filter policy on the message body) or an
 * EventBridge custom bus (one rule per consumer). Either way every consumer's queue receives the
 * event body as the pipe delivered it.
 */
export abstract class FanOutChannel {
  /**
   * An SNS standard topic. SNS FIFO topics cannot be Pipes targets (Pipes have no FIFO target
   * parameters for SNS); for ordered delivery use an SQS FIFO consumer of your own.
   * @param options an existing topic
   */
  public static snsTopic(options: SnsTopicChannelOptions = {}): FanOutChannel {
    const topic = options.topic;
    if (topic) {
      const name = topic.topicName;
      if (topic.fifo || (!Token.isUnresolved(name) && name.endsWith('.fifo'))) {
        throwArgumentError('FanOutChannel.snsTopic', 'options.topic', `${name} is an SNS FIFO topic; Pipes can target only standard topics`);
      }
    }
    return new SnsChannel(options);
  }

  /**
   * An EventBridge custom event bus: one rule per consumer (its filter is the `detail` pattern),
   * delivering the event's `detail` to the consumer's queue.
   * @param options an existing bus, the events' source and detail type
   */
  public static eventBus(options: EventBusChannelOptions = {}): FanOutChannel {
    const factory = 'FanOutChannel.eventBus';
    const source = options.source;
    if (source !== undefined && !Token.isUnresolved(source) && (source.length === 0 || source.length > 256 || source.startsWith('aws.'))) {
      throwArgumentError(factory, 'options.source', `must be 1..256 characters and not start with "aws.", got "${source}"`);
    }
    const detailType = options.detailType;
    if (detailType !== undefined && !Token.isUnresolved(detailType) && (detailType.length === 0 || detailType.length > 128)) {
      throwArgumentError(factory, 'options.detailType', `must be 1..128 characters, got "${detailType}"`);
    }
    const bus = options.eventBus;
    if (bus && !Token.isUnresolved(bus.eventBusName) && bus.eventBusName === 'default') {
      throwArgumentError(factory, 'options.eventBus', 'use a custom event bus, not the default bus (the consumers\' rules would see every AWS event there)');
    }
    return new BusChannel(options);
  }

  protected constructor() {}

  /** @internal */
  public abstract _bind(scope: Construct, options: ChannelBindOptions): BoundChannel;
}

class SnsChannel extends FanOutChannel {
  constructor(private readonly options: SnsTopicChannelOptions) {
    super();
  }

  /** @internal */
  public _bind(scope: Construct, o: ChannelBindOptions): BoundChannel {
    const topic = this.options.topic ?? new sns.Topic(scope, 'Topic', {
      enforceSSL: true,
      masterKey: o.encryptionKey ?? kms.Alias.fromAliasName(scope, 'SnsManagedKey', 'alias/aws/sns'),
    });
    o.policy.addStatements(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
    allowKey(o.policy, topic.masterKey && !isAlias(topic.masterKey) ? topic.masterKey : undefined, ['kms:Decrypt', 'kms:GenerateDataKey']);
    return {
      targetArn: topic.topicArn,
      topic,
      deliveryPrincipal: 'sns.amazonaws.com',
      patternMode: 'sns',
      filterKind: 'an SNS filter policy on the message body',
      subscribe: (s, c) => {
        // Not SqsSubscription: with the recommended flags it conditions the queue key's statement on the
        // topic ARN, a cycle when the topic is encrypted with the same key (key -> topic -> key). The key
        // statement is the construct's (conditioned on the account); the queue policy names the topic.
        const allowTopic = c.queue.addToResourcePolicy(new iam.PolicyStatement({
          resources: [c.queue.queueArn],
          actions: ['sqs:SendMessage'],
          principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
          conditions: { ArnEquals: { 'aws:SourceArn': topic.topicArn } },
        }));
        const subscription = new sns.Subscription(s, 'Subscription', {
          topic,
          endpoint: c.queue.queueArn,
          protocol: sns.SubscriptionProtocol.SQS,
          rawMessageDelivery: true,
          deadLetterQueue: c.deadLetterQueue,
        });
        if (allowTopic.policyDependable) subscription.node.addDependency(allowTopic.policyDependable);
        if (c.filterPattern) {
          const cfn = subscription.node.defaultChild as sns.CfnSubscription;
          cfn.filterPolicy = c.filterPattern;
          cfn.filterPolicyScope = 'MessageBody';
        }
        return { subscription };
      },
    };
  }
}

function isAlias(key: kms.IKey): boolean {
  return typeof (key as { aliasName?: unknown }).aliasName === 'string';
}

class BusChannel extends FanOutChannel {
  constructor(private readonly options: EventBusChannelOptions) {
    super();
  }

  /** @internal */
  public _bind(scope: Construct, o: ChannelBindOptions): BoundChannel {
    const bus = this.options.eventBus ?? new events.EventBus(scope, 'EventBus', {
      description: `Fan-out bus of the pipe ${scope.node.path}`,
    });
    const source = this.options.source ?? 'pipes-fan-out';
    const detailType = this.options.detailType ?? 'Pipe Event';
    o.policy.addStatements(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [bus.eventBusArn] }));
    return {
      targetArn: bus.eventBusArn,
      targetParameters: { eventBridgeEventBusParameters: { source, detailType } },
      eventBus: bus,
      deliveryPrincipal: 'events.amazonaws.com',
      patternMode: 'eventbridge',
      filterKind: 'the detail pattern of an EventBridge rule',
      subscribe: (s, c) => {
        const rule = new events.Rule(s, 'Rule', {
          eventBus: bus,
          description: `Delivers the pipe's events to the consumer ${s.node.path}`,
          eventPattern: {
            source: [source],
            detailType: [detailType],
            ...(c.filterPattern ? { detail: c.filterPattern } : {}),
          },
        });
        rule.addTarget(new targets.SqsQueue(c.queue, {
          message: events.RuleTargetInput.fromEventPath('$.detail'),
          deadLetterQueue: c.deadLetterQueue,
        }));
        return { rule };
      },
    };
  }
}
