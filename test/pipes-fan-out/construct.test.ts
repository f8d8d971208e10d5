import { App, Duration, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { IConstruct } from 'constructs';
import {
  ConsumerFilter, DynamoDbEventName, FanOutChannel, PipeEnrichment, PipeFilter, PipeLogLevel, PipesFanOut, PipeSource,
  PipesFanOutWarnings, StartingPosition,
} from '../../src';
import { expectNoWildcardActions } from '../harness/iam';
import { expectNoUnsuppressedNagErrors } from '../harness/nag';

function newStack(): Stack {
  return new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
}

function ordersTable(stack: Stack): dynamodb.Table {
  return new dynamodb.Table(stack, 'OrdersTable', {
    partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
}

/** A user's function (the test's, not the construct's: its own findings are acknowledged here). */
function fn(stack: Stack, id: string): lambda.Function {
  const f = new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
    timeout: Duration.seconds(30),
    memorySize: 256,
  });
  testFixture(f, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'Serverless-LambdaDLQ');
  return f;
}

/** Acknowledges findings on the test's own resources (the user's side of the construct). */
function testFixture(c: IConstruct, ...ids: string[]): void {
  for (const id of ids) Validations.of(c).acknowledge({ id, reason: 'A fixture of this test standing for the user\'s own resource, not the construct\'s.' });
}

function policyStatements(template: Template, logicalIdPrefix = 'OrdersRolePolicy'): any[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.entries<any>(policies).filter(([id]) => id.startsWith(logicalIdPrefix)).flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

function actionsOf(statements: any[]): string[] {
  return statements.flatMap((s) => [].concat(s.Action)).sort();
}

describe('PipesFanOut: the issue\'s API (DynamoDB stream, filter, Lambda enrichment, SNS channel)', () => {
  const stack = newStack();
  const table = ordersTable(stack);
  const customerLookup = fn(stack, 'CustomerLookup');
  const inventory = fn(stack, 'Inventory');
  const existingDlq = new sqs.Queue(stack, 'ShippingDlq', { enforceSSL: true });
  testFixture(existingDlq, 'AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy');
  const existingQueue = new sqs.Queue(stack, 'ShippingQueue', { enforceSSL: true, deadLetterQueue: { queue: existingDlq, maxReceiveCount: 3 } });
  const orders = new PipesFanOut(stack, 'Orders', {
    source: PipeSource.dynamoDbStream(table, { startingPosition: StartingPosition.LATEST, batchSize: 10 }),
    filter: PipeFilter.fromEventPatterns([{ eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: ['NEW'] } } } }]),
    enrichment: PipeEnrichment.lambdaFunction(customerLookup),
    channel: FanOutChannel.snsTopic(),
  });
  const inv = orders.addConsumer('Inventory', { handler: inventory, filter: ConsumerFilter.onBody({ items: { sku: [{ prefix: 'SKU-' }] } }) });
  orders.addConsumer('Shipping', { queue: existingQueue });
  const template = Template.fromStack(stack);

  test('the pipe reads the stream with finite, safe defaults and a DLQ from the first deploy', () => {
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      Source: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OrdersTable'), 'StreamArn'] },
      SourceParameters: {
        DynamoDBStreamParameters: {
          StartingPosition: 'LATEST',
          BatchSize: 10,
          MaximumRetryAttempts: 3,
          MaximumRecordAgeInSeconds: 86400,
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OrdersSourceDeadLetterQueue'), 'Arn'] } },
        },
        FilterCriteria: { Filters: [{ Pattern: '{"eventName":["INSERT"],"dynamodb":{"NewImage":{"status":{"S":["NEW"]}}}}' }] },
      },
      Enrichment: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CustomerLookup'), 'Arn'] },
      Target: { Ref: Match.stringLikeRegexp('^OrdersTopic') },
      LogConfiguration: {
        Level: 'ERROR',
        CloudwatchLogsLogDestination: { LogGroupArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OrdersLogGroup'), 'Arn'] } },
        IncludeExecutionData: Match.absent(),
      },
    });
  });

  test('the pipe depends on its role policy (no creation race)', () => {
    const pipe = Object.values<any>(template.findResources('AWS::Pipes::Pipe'))[0];
    const policyId = Object.keys(template.findResources('AWS::IAM::Policy')).find((id) => id.startsWith('OrdersRolePolicy'));
    expect(pipe.DependsOn).toEqual(expect.arrayContaining([policyId]));
  });

  test('the role has exactly the source, enrichment, target, DLQ and log rights', () => {
    expect(actionsOf(policyStatements(template))).toEqual([
      'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams',
      'lambda:InvokeFunction', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sns:Publish', 'sqs:GetQueueAttributes', 'sqs:SendMessage',
    ].sort());
    const invoke = policyStatements(template).find((s) => s.Action === 'lambda:InvokeFunction');
    expect(invoke.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^CustomerLookup/), 'Arn'] });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'pipes.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } })],
      },
    });
    expectNoWildcardActions(template);
  });

  test('the source DLQ is encrypted, TLS only, with a redrive allow policy', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const dlq = Object.entries<any>(queues).find(([id]) => id.startsWith('OrdersSourceDeadLetterQueue'))![1];
    expect(dlq.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600, RedriveAllowPolicy: { redrivePermission: 'allowAll' } });
  });

  test('the topic is a standard topic, TLS only, encrypted', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue(), FifoTopic: Match.absent() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } });
  });

  test('each consumer gets a raw-delivery subscription with a DLQ; the filter policy applies to the message body', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      RawMessageDelivery: true,
      FilterPolicyScope: 'MessageBody',
      FilterPolicy: { items: { sku: [{ prefix: 'SKU-' }] } },
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OrdersInventoryDeadLetterQueue'), 'Arn'] } },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 2);
  });

  test('SNS may send to each consumer queue and its DLQ, from this topic only', () => {
    const policies = Object.values<any>(template.findResources('AWS::SQS::QueuePolicy'));
    const snsSends = policies.flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => st.Principal?.Service === 'sns.amazonaws.com' && st.Action === 'sqs:SendMessage');
    // Inventory queue + DLQ, Shipping (own) queue + DLQ
    expect(snsSends).toHaveLength(4);
    for (const st of snsSends) expect(st.Condition.ArnEquals['aws:SourceArn']).toEqual({ Ref: expect.stringMatching(/^OrdersTopic/) });
  });

  test('a new consumer queue: SSE-SQS, DLQ after 5 receives, visibility six times the handler timeout', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
      MessageRetentionPeriod: 345600,
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OrdersInventoryDeadLetterQueue'), 'Arn'] } },
    });
  });

  test('the handler reads its queue with reportBatchItemFailures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('^Inventory') },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('consumers are exposed by id', () => {
    expect(orders.consumer('Inventory')).toBe(inv);
    expect(orders.consumer('Shipping').queue).toBe(existingQueue);
    expect(orders.consumerIds).toEqual(['Inventory', 'Shipping']);
    expect(() => orders.consumer('Billing')).toThrow(/no consumer "Billing" \(consumers: Inventory, Shipping\)/);
  });

  test('a consumer with its own queue gets a warning', () => {
    Annotations.fromStack(stack).hasWarning('/Test/Orders/Shipping', Match.stringLikeRegexp('brings its own queue'));
  });

  test('alarms: pipe failures and throttles, source dead letters, each consumer\'s dead letters and message age', () => {
    for (const name of ['ExecutionFailed', 'ExecutionThrottled']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/EventBridge/Pipes', MetricName: name, Dimensions: [{ Name: 'PipeName', Value: { Ref: Match.anyValue() } }] });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 900 });
    // 2 pipe + 1 source DLQ + 2 per consumer
    template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
  });

  test('a dashboard with one widget row for the pipe and one per consumer', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(orders.dashboard).toBeDefined();
  });

  test('metric methods name the pipe', () => {
    const m = orders.metricTargetStageFailed();
    expect(m.namespace).toBe('AWS/EventBridge/Pipes');
    expect(m.metricName).toBe('TargetStageFailed');
    expect(orders.metricDuration().statistic).toBe('Average');
  });

  test('cdk-nag: no unsuppressed errors', () => {
    expectNoUnsuppressedNagErrors(stack);
  });
});

describe('PipesFanOut: other sources', () => {
  test('Kinesis at a timestamp: parameters, bisect, role and the user\'s DLQ topic', () => {
    const stack = newStack();
    const stream = new kinesis.Stream(stack, 'Stream', { encryption: kinesis.StreamEncryption.MANAGED });
    const dlqTopic = new sns.Topic(stack, 'DlqTopic', { enforceSSL: true });
    new PipesFanOut(stack, 'Orders', {
      source: PipeSource.kinesisStream(stream, {
        startingPosition: StartingPosition.AT_TIMESTAMP,
        startingPositionTimestamp: new Date('2026-12-01T00:00:00Z'),
        parallelizationFactor: 4,
        bisectBatchOnItemFailure: true,
        maximumRetryAttempts: 5,
        maximumRecordAge: Duration.hours(6),
        maximumBatchingWindow: Duration.seconds(10),
        deadLetterTopic: dlqTopic,
      }),
      dashboard: false,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      SourceParameters: {
        KinesisStreamParameters: {
          StartingPosition: 'AT_TIMESTAMP',
          StartingPositionTimestamp: '2026-12-01T00:00:00.000Z',
          ParallelizationFactor: 4,
          OnPartialBatchItemFailure: 'AUTOMATIC_BISECT',
          MaximumRetryAttempts: 5,
          MaximumRecordAgeInSeconds: 21600,
          MaximumBatchingWindowInSeconds: 10,
          DeadLetterConfig: { Arn: { Ref: Match.stringLikeRegexp('^DlqTopic') } },
        },
      },
    });
    expect(actionsOf(policyStatements(template))).toEqual([
      'kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards',
      'kinesis:ListStreams', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sns:Publish', 'sns:Publish',
    ]);
    template.resourceCountIs('AWS::SQS::Queue', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  test('SQS: batch parameters, consume rights and the queue key, no source DLQ', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'QueueKey', { enableKeyRotation: true });
    const queue = new sqs.Queue(stack, 'Inbox', { encryptionMasterKey: key, enforceSSL: true });
    testFixture(queue, 'AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy');
    const orders = new PipesFanOut(stack, 'Orders', {
      source: PipeSource.sqsQueue(queue, { batchSize: 100, maximumBatchingWindow: Duration.seconds(5) }),
      filter: PipeFilter.fromEventPatterns([{ body: { type: ['order'] } }]),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      SourceParameters: { SqsQueueParameters: { BatchSize: 100, MaximumBatchingWindowInSeconds: 5 } },
    });
    expect(actionsOf(policyStatements(template))).toEqual([
      'kms:Decrypt', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sns:Publish',
      'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage',
    ]);
    expect(orders.sourceDeadLetterQueue).toBeUndefined();
    expectNoUnsuppressedNagErrors(stack);
  });

  test('the user\'s source DLQ queue, imported, is used by ARN (no instanceof)', () => {
    const stack = newStack();
    const dlq = sqs.Queue.fromQueueArn(stack, 'Imported', 'arn:aws:sqs:eu-west-1:123456789012:source-dlq');
    new PipesFanOut(stack, 'Orders', { source: PipeSource.dynamoDbStream(ordersTable(stack), { startingPosition: StartingPosition.TRIM_HORIZON, deadLetterQueue: dlq }) });
    Template.fromStack(stack).hasResourceProperties('AWS::Pipes::Pipe', {
      SourceParameters: { DynamoDBStreamParameters: { StartingPosition: 'TRIM_HORIZON', DeadLetterConfig: { Arn: 'arn:aws:sqs:eu-west-1:123456789012:source-dlq' } } },
    });
  });
});

describe('PipesFanOut: enrichments and templates', () => {
  test('Express state machine: StartSyncExecution on it; input templates', () => {
    const stack = newStack();
    const sm = new sfn.StateMachine(stack, 'Enrich', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Pass')),
    });
    new PipesFanOut(stack, 'Orders', {
      source: PipeSource.dynamoDbStream(ordersTable(stack), { startingPosition: StartingPosition.LATEST }),
      enrichment: PipeEnrichment.stateMachine(sm, { inputTemplate: '{"id": <$.dynamodb.Keys.orderId.S>}' }),
      targetInputTemplate: '{"order": <$.order>}',
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      Enrichment: { Ref: Match.stringLikeRegexp('^Enrich') },
      EnrichmentParameters: { InputTemplate: '{"id": <$.dynamodb.Keys.orderId.S>}' },
      TargetParameters: { InputTemplate: '{"order": <$.order>}' },
    });
    expect(policyStatements(template).find((s) => s.Action === 'states:StartSyncExecution').Resource).toEqual({ Ref: expect.stringMatching(/^Enrich/) });
  });

  test('API destination: InvokeApiDestination and HTTP parameters', () => {
    const stack = newStack();
    const connection = new events.Connection(stack, 'Conn', { authorization: events.Authorization.apiKey('x-api-key', SecretValue.unsafePlainText('test-only')) });
    const dest = new events.ApiDestination(stack, 'Dest', { connection, endpoint: 'https://example.com/customers/*' });
    new PipesFanOut(stack, 'Orders', {
      source: PipeSource.dynamoDbStream(ordersTable(stack), { startingPosition: StartingPosition.LATEST }),
      enrichment: PipeEnrichment.apiDestination(dest, { pathParameterValues: ['$.dynamodb.NewImage.customerId.S'], headerParameters: { 'x-source': 'pipe' } }),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      EnrichmentParameters: { HttpParameters: { PathParameterValues: ['$.dynamodb.NewImage.customerId.S'], HeaderParameters: { 'x-source': 'pipe' } } },
    });
    expect(actionsOf(policyStatements(template))).toContain('events:InvokeApiDestination');
  });
});


describe('PipesFanOut: event-bus channel', () => {
  const stack = newStack();
  const orders = new PipesFanOut(stack, 'Orders', {
    source: PipeSource.dynamoDbStream(ordersTable(stack), { startingPosition: StartingPosition.LATEST }),
    channel: FanOutChannel.eventBus({ source: 'orders', detailType: 'Order Created' }),
    filter: PipeFilter.dynamoDbNewImageEquals('status', ['NEW'], { eventNames: [DynamoDbEventName.INSERT] }),
  });
  orders.addConsumer('Billing', { filter: ConsumerFilter.onBody({ total: [{ numeric: ['>', 100] }] }), maxReceiveCount: 3 });
  const template = Template.fromStack(stack);

  test('the pipe puts events on a custom bus with source and detail type', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      Target: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OrdersEventBus'), 'Arn'] },
      TargetParameters: { EventBridgeEventBusParameters: { Source: 'orders', DetailType: 'Order Created' } },
    });
    expect(actionsOf(policyStatements(template))).toContain('events:PutEvents');
  });

  test('each consumer has a rule with its detail filter, delivering the detail with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['orders'], 'detail-type': ['Order Created'], 'detail': { total: [{ numeric: ['>', 100] }] } },
      Targets: [Match.objectLike({ InputPath: '$.detail', DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OrdersBillingDeadLetterQueue'), 'Arn'] } } })],
    });
    template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: { maxReceiveCount: 3 } });
    expect(orders.consumer('Billing').rule).toBeDefined();
  });

  test('the NewImage helper builds the DynamoDB pattern', () => {
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      SourceParameters: { FilterCriteria: { Filters: [{ Pattern: '{"eventName":["INSERT"],"dynamodb":{"NewImage":{"status":{"S":["NEW"]}}}}' }] } },
    });
  });

  test('cdk-nag: no unsuppressed errors', () => {
    expectNoUnsuppressedNagErrors(stack);
  });
});

describe('PipesFanOut: customer key, logging, circuit breaker', () => {
  const stack = newStack();
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const alarmTopic = new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true });
  const orders = new PipesFanOut(stack, 'Orders', {
    source: PipeSource.dynamoDbStream(ordersTable(stack), { startingPosition: StartingPosition.LATEST }),
    encryptionKey: key,
    alarmTopic,
    logLevel: PipeLogLevel.INFO,
    logIncludeExecutionData: true,
    circuitBreaker: { deadLetterThreshold: 2, errorRatePercent: 20 },
  });
  // added after construction: still trips the breaker
  orders.addConsumer('Inventory', { handler: fn(stack, 'InventoryFn') });
  const template = Template.fromStack(stack);

  test('queues, topic and log group use the customer key; SNS and CloudWatch Logs may use it', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] }, RedrivePolicy: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] }, RetentionInDays: 365 });
    const keyPolicy = Object.values<any>(template.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement;
    expect(keyPolicy.some((s: any) => s.Principal?.Service === 'sns.amazonaws.com')).toBe(true);
    expect(keyPolicy.some((s: any) => s.Principal?.Service === 'logs.eu-west-1.amazonaws.com')).toBe(true);
    expect(actionsOf(policyStatements(template))).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']));
  });

  test('log level and execution data (with a warning)', () => {
    template.hasResourceProperties('AWS::Pipes::Pipe', { LogConfiguration: { Level: 'INFO', IncludeExecutionData: ['ALL'] } });
    Annotations.fromStack(stack).hasWarning('/Test/Orders', Match.stringLikeRegexp('logIncludeExecutionData is on'));
    expect(PipesFanOutWarnings.EXECUTION_DATA_LOGGED).toMatch(/^cdk-production-patterns:/);
  });

  test('the circuit breaker trips on the consumers added later (dead letters, error rate)', () => {
    expect(orders.circuitBreaker).toBeDefined();
    const composite = Object.entries<any>(template.findResources('AWS::CloudWatch::CompositeAlarm'))
      .find(([id]) => id.startsWith('OrdersConsumersFailingAlarm'))![1];
    const rule = JSON.stringify(composite.Properties.AlarmRule);
    expect(rule).toMatch(/OrdersInventoryDeadLettersAlarm/);
    expect(rule).toMatch(/OrdersInventoryHandlerErrorRateAlarm/);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 2, Period: 60 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 20, Metrics: Match.anyValue() });
  });

  test('every alarm notifies the alarm topic', () => {
    for (const alarm of Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
    }
  });

  test('cdk-nag: no unsuppressed errors', () => {
    expectNoUnsuppressedNagErrors(stack);
  });
});


describe('PipesFanOut: logical ids of stateful resources are pinned', () => {
  test('pipe, queues, topic, log group', () => {
    const stack = newStack();
    const orders = new PipesFanOut(stack, 'Orders', {
      source: PipeSource.dynamoDbStream(ordersTable(stack), { startingPosition: StartingPosition.LATEST }),
    });
    orders.addConsumer('Inventory');
    const ids = (types: string[]) => Object.entries<any>(Template.fromStack(stack).toJSON().Resources)
      .filter(([id, r]) => types.includes(r.Type) && id.startsWith('Orders') && !id.startsWith('OrdersTable')).map(([id]) => id).sort();
    expect(ids(['AWS::Pipes::Pipe', 'AWS::SQS::Queue', 'AWS::SNS::Topic', 'AWS::Logs::LogGroup', 'AWS::SNS::Subscription'])).toMatchInlineSnapshot(`
[
  "OrdersInventoryDeadLetterQueue27F5FD24",
  "OrdersInventoryQueue83A486BE",
  "OrdersInventorySubscription3E814DF0",
  "OrdersLogGroupE26395F1",
  "OrdersPipe360F7A44",
  "OrdersSourceDeadLetterQueue6AD0E1C2",
  "OrdersTopic8A68B7A2",
]
`);
  });
});
