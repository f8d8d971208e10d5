/** Template assertions for the PipeCircuitBreaker construct. */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PipeCircuitBreaker, PipeCircuitBreakerProps } from '../../src/pipes-fan-out/circuit-breaker';
import { parseBreakerConfig } from '../../src/pipes-fan-out/runtime/circuit-breaker';
import { expectNoWildcardActions, findWildcardActions } from '../harness/iam';
import { expectNoUnsuppressedNagErrors } from '../harness/nag';

const PIPE_ARN = 'arn:aws:pipes:eu-west-1:123456789012:pipe/orders';

interface Built { stack: Stack; breaker: PipeCircuitBreaker; template: Template; alarms: cloudwatch.Alarm[] }

function build(props: Partial<PipeCircuitBreakerProps> = {}): Built {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const alarms = [
    new cloudwatch.Alarm(stack, 'DlqAlarm', {
      metric: new cloudwatch.Metric({ namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensionsMap: { QueueName: 'inventory-dlq' } }),
      threshold: 1,
      evaluationPeriods: 1,
    }),
    new cloudwatch.Alarm(stack, 'ErrorRateAlarm', {
      metric: new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'Errors' }), threshold: 10, evaluationPeriods: 1,
    }),
  ];
  const breaker = new PipeCircuitBreaker(stack, 'Breaker', { pipeName: 'orders', pipeArn: PIPE_ARN, alarms, ...props });
  return { stack, breaker, template: Template.fromStack(stack), alarms };
}

function statements(template: Template): any[] {
  return Object.values<any>(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('PipeCircuitBreaker defaults', () => {
  const { stack, template } = build();

  test('one composite trip alarm: ALARM when any of the alarms is in ALARM', () => {
    template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 1);
    const [composite] = Object.values<any>(template.findResources('AWS::CloudWatch::CompositeAlarm'));
    const rule = JSON.stringify(composite.Properties.AlarmRule);
    expect(rule).toMatch(/ALARM\(\\"/);
    expect(rule).toMatch(/DlqAlarm/);
    expect(rule).toMatch(/ErrorRateAlarm/);
    expect(rule).toMatch(/ OR /);
  });

  test('the rule matches the trip alarm\'s state changes (source aws.cloudwatch) and targets the handler with a DLQ', () => {
    const compositeId = Object.keys(template.findResources('AWS::CloudWatch::CompositeAlarm'))[0];
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        'resources': [{ 'Fn::GetAtt': [compositeId, 'Arn'] }],
      },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BreakerHandler'), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BreakerDeadLetters'), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      })],
    });
  });

  test('the handler: arm64 Node.js 24, X-Ray, JSON logs into a retained log group, its environment, one at a time', () => {
    const compositeId = Object.keys(template.findResources('AWS::CloudWatch::CompositeAlarm'))[0];
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({ PIPE_NAME: 'orders', AUTO_RESTART: 'false', TRIP_ALARM_ARN: { 'Fn::GetAtt': [compositeId, 'Arn'] } }),
      },
    });
    template.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', Properties: { RetentionInDays: 365 } });
    // the environment as the construct writes it is what the handler accepts
    expect(parseBreakerConfig({ PIPE_NAME: 'orders', AUTO_RESTART: 'false', TRIP_ALARM_ARN: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:t' }))
      .toMatchObject({ pipeName: 'orders', autoRestart: false });
  });

  test('IAM: exactly pipes:DescribePipe, StopPipe and StartPipe on the pipe ARN; no wildcard action anywhere', () => {
    const pipesStatements = statements(template).filter((s) => [s.Action].flat().some((a: string) => a.startsWith('pipes:')));
    expect(pipesStatements).toEqual([
      { Effect: 'Allow', Action: ['pipes:DescribePipe', 'pipes:StopPipe', 'pipes:StartPipe'], Resource: PIPE_ARN },
    ]);
    expectNoWildcardActions(template);
  });

  test('alarms: pipe stopped (on the PipeStopped metric), handler errors, dead letters', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CdkProductionPatterns/PipesFanOut',
      MetricName: 'PipeStopped',
      Dimensions: Match.arrayWith([{ Name: 'PipeName', Value: 'orders' }, { Name: 'service', Value: 'pipes-circuit-breaker' }]),
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmDescription: Match.stringLikeRegexp('STOPPED pipe orders.*24 hours for DynamoDB Streams.*aws pipes start-pipe --name orders'),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Threshold: 1 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum' });
  });

  test('cdk-nag: no unsuppressed finding', () => {
    expectNoUnsuppressedNagErrors(stack);
  });
});

test('autoRestart is written into the environment', () => {
  const { template } = build({ autoRestart: true });
  template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ AUTO_RESTART: 'true' }) } });
});

test('with an alarm topic every breaker alarm (trip, stopped, errors, dead letters) notifies it', () => {
  const stack = new Stack(new App(), 'T', { env: { account: '123456789012', region: 'eu-west-1' } });
  const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
  const alarm = cloudwatch.Alarm.fromAlarmArn(stack, 'A', 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a');
  const breaker = new PipeCircuitBreaker(stack, 'Breaker', { pipeName: 'orders', pipeArn: PIPE_ARN, alarms: [alarm], alarmTopic: topic });
  expect(breaker.breakerAlarms).toHaveLength(4);
  const template = Template.fromStack(stack);
  const topicRef = { Ref: Match.stringLikeRegexp('^Topic') };
  template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmActions: [topicRef] });
  template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: [topicRef] }, 3);
});

test('in a VPC with a customer key: the handler runs in the subnets, the log group and DLQ use the key; nag stays clean', () => {
  const stack = new Stack(new App(), 'V', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, restrictDefaultSecurityGroup: false });
  vpc.addFlowLog('FlowLog');
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const alarm = cloudwatch.Alarm.fromAlarmArn(stack, 'A', 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a');
  new PipeCircuitBreaker(stack, 'Breaker', { pipeName: 'orders', pipeArn: PIPE_ARN, alarms: [alarm], handlerVpc: vpc, encryptionKey: key });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }) });
  template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
  template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
  // the key's own default policy (kms:* for the account root) is the only wildcard
  expect(findWildcardActions(template).map((f) => f.resourceType)).toEqual(['AWS::KMS::Key']);
  expectNoUnsuppressedNagErrors(stack);
});

describe('validation', () => {
  const stack = () => new Stack(new App(), 'E');
  const alarm = (s: Stack) => cloudwatch.Alarm.fromAlarmArn(s, 'A', 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a');

  test('no alarm', () => {
    const s = stack();
    expect(() => new PipeCircuitBreaker(s, 'B', { pipeName: 'orders', pipeArn: PIPE_ARN, alarms: [] }))
      .toThrow("E/B: invalid prop 'alarms': must name at least one alarm");
  });

  test('more than 100 alarms', () => {
    const s = stack();
    const a = alarm(s);
    expect(() => new PipeCircuitBreaker(s, 'B', { pipeName: 'orders', pipeArn: PIPE_ARN, alarms: Array.from({ length: 101 }, () => a) }))
      .toThrow("E/B: invalid prop 'alarms.length': must be an integer in 1..100, got 101");
  });

  test('a pipe name the API would refuse', () => {
    const s = stack();
    expect(() => new PipeCircuitBreaker(s, 'B', { pipeName: 'orders pipe', pipeArn: PIPE_ARN, alarms: [alarm(s)] }))
      .toThrow("E/B: invalid prop 'pipeName': must be a pipe name");
  });

  test('handler network props without a VPC', () => {
    const s = stack();
    const sg = ec2.SecurityGroup.fromSecurityGroupId(s, 'Sg', 'sg-12345');
    expect(() => new PipeCircuitBreaker(s, 'B', { pipeName: 'orders', pipeArn: PIPE_ARN, alarms: [alarm(s)], handlerSecurityGroups: [sg] }))
      .toThrow("E/B: invalid prop 'handlerVpc': is required when handlerSecurityGroups is given");
  });
});
