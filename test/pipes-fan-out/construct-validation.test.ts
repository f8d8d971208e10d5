import { App, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import {
  ConsumerFilter, DynamoDbEventName, FanOutChannel, PipeEnrichment, PipeFilter, PipesFanOut, PipeSource, StartingPosition,
} from '../../src';

function newStack(): Stack {
  return new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
}

function table(stack: Stack, withStream = true): dynamodb.Table {
  return new dynamodb.Table(stack, 'OrdersTable', {
    partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
    stream: withStream ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
  });
}

const latest = { startingPosition: StartingPosition.LATEST };

describe('PipeSource validation', () => {
  const stack = newStack();
  const t = table(stack);
  const stream = new kinesis.Stream(stack, 'Stream');

  test.each([
    [{ batchSize: 0 }, /PipeSource.dynamoDbStream: invalid argument 'options.batchSize': must be an integer in 1..10000, got 0/],
    [{ batchSize: 10001 }, /options.batchSize': must be an integer in 1..10000, got 10001/],
    [{ maximumBatchingWindow: Duration.seconds(301) }, /options.maximumBatchingWindow': must be an integer in 0..300 seconds, got 301/],
    [{ maximumRecordAge: Duration.seconds(59) }, /options.maximumRecordAge': must be an integer in 60..604800 seconds .*no.* infinite record age/],
    [{ maximumRecordAge: Duration.days(8) }, /options.maximumRecordAge': must be an integer in 60..604800/],
    [{ maximumRetryAttempts: -1 }, /options.maximumRetryAttempts': must be an integer in 0..10000 \(this construct does not offer infinite retries/],
    [{ maximumRetryAttempts: 10001 }, /options.maximumRetryAttempts': must be an integer in 0..10000/],
    [{ parallelizationFactor: 11 }, /options.parallelizationFactor': must be an integer in 1..10, got 11/],
    [{ startingPosition: StartingPosition.AT_TIMESTAMP }, /DynamoDB streams start at TRIM_HORIZON or LATEST/],
  ])('DynamoDB %o', (options, message) => {
    expect(() => PipeSource.dynamoDbStream(t, { ...latest, ...options })).toThrow(message);
  });

  test('a table without a stream', () => {
    const s = newStack();
    expect(() => PipeSource.dynamoDbStream(table(s, false), latest)).toThrow(/invalid argument 'table': Test\/OrdersTable has no stream/);
  });

  test('a DLQ queue and topic together', () => {
    expect(() => PipeSource.dynamoDbStream(t, { ...latest, deadLetterQueue: new sqs.Queue(stack, 'Q'), deadLetterTopic: new sns.Topic(stack, 'T') }))
      .toThrow(/'options.deadLetterTopic': give at most one of deadLetterQueue and deadLetterTopic/);
  });

  test('a FIFO DLQ topic', () => {
    const fifo = sns.Topic.fromTopicArn(stack, 'Fifo', 'arn:aws:sns:eu-west-1:123456789012:dlq.fifo');
    expect(() => PipeSource.kinesisStream(stream, { ...latest, deadLetterTopic: fifo })).toThrow(/dlq.fifo is a FIFO topic/);
  });

  test('Kinesis AT_TIMESTAMP needs its timestamp, and only it takes one', () => {
    expect(() => PipeSource.kinesisStream(stream, { startingPosition: StartingPosition.AT_TIMESTAMP }))
      .toThrow(/PipeSource.kinesisStream: invalid argument 'options.startingPositionTimestamp': is required with StartingPosition.AT_TIMESTAMP/);
    expect(() => PipeSource.kinesisStream(stream, { ...latest, startingPositionTimestamp: new Date() }))
      .toThrow(/is only used with StartingPosition.AT_TIMESTAMP \(startingPosition is LATEST\)/);
  });

  test('SQS ranges', () => {
    const q = new sqs.Queue(stack, 'Src');
    expect(() => PipeSource.sqsQueue(q, { batchSize: 0 })).toThrow(/PipeSource.sqsQueue: invalid argument 'options.batchSize': must be an integer in 1..10000, got 0/);
    expect(() => PipeSource.sqsQueue(q, { maximumBatchingWindow: Duration.minutes(6) })).toThrow(/options.maximumBatchingWindow': must be an integer in 0..300 seconds, got 360/);
  });
});

describe('PipeFilter validation (Pipes dialect of the matcher)', () => {
  test('an operator Pipes do not support is a synth error naming it', () => {
    expect(() => PipeFilter.fromEventPatterns([{ status: [{ 'anything-but': { prefix: 'OLD' } }] }]))
      .toThrow(/PipeFilter.fromEventPatterns: invalid argument 'patterns\[0\]': .*anything-but.*prefix/);
  });

  test('the same pattern is fine on an event bus consumer', () => {
    const stack = newStack();
    const fanOut = new PipesFanOut(stack, 'F', { source: PipeSource.dynamoDbStream(table(stack), latest), channel: FanOutChannel.eventBus() });
    expect(() => fanOut.addConsumer('C', { filter: ConsumerFilter.onBody({ status: [{ 'anything-but': { prefix: 'OLD' } }] }) })).not.toThrow();
  });

  test('empty, non-object and too many patterns', () => {
    expect(() => PipeFilter.fromEventPatterns([])).toThrow(/'patterns': must hold 1..5 patterns, got 0/);
    expect(() => PipeFilter.fromEventPatterns([{}])).toThrow(/'patterns\[0\]': is empty/);
    expect(() => PipeFilter.fromEventPatterns([[] as any])).toThrow(/'patterns\[0\]': must be an event pattern object, got an array/);
    expect(() => PipeFilter.fromEventPatterns(Array(6).fill({ a: ['b'] }))).toThrow(/must hold 1..5 patterns, got 6/);
  });

  test('a pattern longer than 4096 characters', () => {
    expect(() => PipeFilter.fromEventPatterns([{ a: Array.from({ length: 600 }, (_, i) => `value-${i}`) }])).toThrow(/4096/);
  });

  test('DynamoDB helpers', () => {
    expect(PipeFilter.dynamoDbEventNames([DynamoDbEventName.INSERT, DynamoDbEventName.REMOVE]).patterns).toEqual(['{"eventName":["INSERT","REMOVE"]}']);
    expect(() => PipeFilter.dynamoDbEventNames([])).toThrow(/must name at least one event name/);
    expect(() => PipeFilter.dynamoDbNewImageEquals('status', [])).toThrow(/'values': must hold 1..100 values, got 0/);
    expect(() => PipeFilter.dynamoDbNewImageEquals('status', ['X'], { eventNames: [DynamoDbEventName.REMOVE] })).toThrow(/REMOVE records have no NewImage/);
    const inserts = PipeFilter.dynamoDbEventNames([DynamoDbEventName.INSERT]);
    const either = PipeFilter.anyOf(inserts, PipeFilter.dynamoDbEventNames([DynamoDbEventName.REMOVE]));
    expect(either.patterns).toHaveLength(2);
  });
});

describe('PipeEnrichment and FanOutChannel validation', () => {
  const stack = newStack();

  test('a STANDARD state machine cannot enrich', () => {
    const sm = new sfn.StateMachine(stack, 'Std', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P')) });
    expect(() => PipeEnrichment.stateMachine(sm)).toThrow(/PipeEnrichment.stateMachine: invalid argument 'stateMachine': Test\/Std is a STANDARD state machine; Pipes enrich only with EXPRESS/);
  });

  test('an imported state machine (type unknown) is accepted', () => {
    const sm = sfn.StateMachine.fromStateMachineArn(stack, 'Imp', 'arn:aws:states:eu-west-1:123456789012:stateMachine:x');
    expect(() => PipeEnrichment.stateMachine(sm)).not.toThrow();
  });

  test('input template length', () => {
    const f = lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:eu-west-1:123456789012:function:x');
    expect(() => PipeEnrichment.lambdaFunction(f, { inputTemplate: '' })).toThrow(/'options.inputTemplate': must be 1..8192 characters, got 0/);
  });

  test('an SNS FIFO topic cannot be the channel', () => {
    const fifo = sns.Topic.fromTopicArn(stack, 'FifoTopic', 'arn:aws:sns:eu-west-1:123456789012:orders.fifo');
    expect(() => FanOutChannel.snsTopic({ topic: fifo })).toThrow(/FanOutChannel.snsTopic: invalid argument 'options.topic': orders.fifo is an SNS FIFO topic; Pipes can target only standard topics/);
  });

  test('event bus: aws. sources and the default bus are refused', () => {
    expect(() => FanOutChannel.eventBus({ source: 'aws.orders' })).toThrow(/'options.source': must be 1..256 characters and not start with "aws."/);
    expect(() => FanOutChannel.eventBus({ eventBus: events.EventBus.fromEventBusName(stack, 'Default', 'default') })).toThrow(/not the default bus/);
  });
});

describe('PipesFanOut and addConsumer validation', () => {
  function fanOut(extra: object = {}) {
    const stack = newStack();
    return new PipesFanOut(stack, 'F', { source: PipeSource.dynamoDbStream(table(stack), latest), ...extra });
  }

  test('sources, enrichments and channels must come from their factories', () => {
    expect(() => fanOut({ source: {} as any })).toThrow(/Test\/F: invalid prop 'source': must be made by one of the PipeSource factories/);
  });

  test('description, template and alarm threshold ranges', () => {
    expect(() => fanOut({ description: 'x'.repeat(513) })).toThrow(/invalid prop 'description': must be at most 512 characters, got 513/);
    expect(() => fanOut({ consumerMessageAgeAlarmThreshold: Duration.seconds(30) })).toThrow(/invalid prop 'consumerMessageAgeAlarmThreshold': must be in 60..1209600, got 30/);
    expect(() => fanOut({ circuitBreaker: { errorRatePercent: 0 } })).toThrow(/invalid prop 'circuitBreaker.errorRatePercent': must be in 1..100, got 0/);
  });

  test('handler network props without a circuit breaker', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    expect(() => new PipesFanOut(stack, 'F', { source: PipeSource.dynamoDbStream(table(stack), latest), handlerVpc: vpc }))
      .toThrow(/invalid prop 'handlerVpc': places the circuit breaker's handler/);
  });

  test('consumer limits name the consumer and the prop', () => {
    const f = fanOut();
    expect(() => f.addConsumer('A', { maxReceiveCount: 0 })).toThrow(/Test\/F\/A: invalid prop 'maxReceiveCount': must be an integer in 1..1000, got 0/);
    expect(() => f.addConsumer('B', { batchSize: 5 })).toThrow(/Test\/F\/B: invalid prop 'handler': batchSize, maxBatchingWindow and maxConcurrency configure the handler's event source/);
    expect(() => f.addConsumer('C', { queue: new sqs.Queue(f, 'Q'), maxReceiveCount: 3 })).toThrow(/invalid prop 'queue': maxReceiveCount, visibilityTimeout and retentionPeriod configure a new queue/);
    const fn = new lambda.Function(f, 'H', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'i.h', code: lambda.Code.fromInline('x'), timeout: Duration.minutes(2) });
    expect(() => f.addConsumer('D', { handler: fn, visibilityTimeout: Duration.minutes(1) })).toThrow(/invalid prop 'visibilityTimeout': must be at least the handler's timeout \(2 minutes\), got 1 minute/);
    expect(() => f.addConsumer('E', { handler: fn, batchSize: 50 })).toThrow(/invalid prop 'maxBatchingWindow': is required when batchSize is above 10/);
    f.addConsumer('Ok');
    expect(() => f.addConsumer('Ok')).toThrow(/invalid prop 'addConsumer.id': a consumer or child named "Ok" exists already/);
  });

  test('a consumer filter is checked in the SNS dialect on an SNS channel', () => {
    const f = fanOut();
    // SNS filter policies have no wildcard operator
    expect(() => f.addConsumer('W', { filter: ConsumerFilter.onBody({ sku: [{ wildcard: 'SKU-*' }] }) }))
      .toThrow(/Test\/F\/W: invalid prop 'filter': is not valid as an SNS filter policy on the message body: .*wildcard/);
  });
});
