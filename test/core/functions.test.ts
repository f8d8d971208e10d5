import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { bundledFunction } from '../../src/core/functions';
import { handlerNetwork } from '../../src/core/network';
import { MarkerObjectFunction } from '../../src/guardrails/runtime/marker-object-function';
import { findWildcardActions } from '../harness/iam';
import { runNag } from '../harness/nag';

function newStack(): Stack {
  return new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
}

const ref = (stack: Stack, c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as any);

describe('bundledFunction: the one set of handler defaults', () => {
  test('arm64, X-Ray, JSON logs into a retained one-year log group; the function\'s own settings win', () => {
    const stack = newStack();
    const { fn, logGroup, deadLetterQueue } = bundledFunction(stack, 'Fn', MarkerObjectFunction, {
      memorySize: 512, timeout: Duration.seconds(10), environment: { MY_SETTING: 'b' }, reservedConcurrentExecutions: 1,
    }, { logGroupId: 'FnLogs' });
    expect(deadLetterQueue).toBeUndefined();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: ref(stack, logGroup) } },
      MemorySize: 512,
      Timeout: 10,
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: Match.objectLike({ MY_SETTING: 'b' }) },
    });
    expect(ref(stack, logGroup)).toMatch(/^FnLogs/);
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(t.toJSON().Resources[ref(stack, logGroup)].Properties.KmsKeyId).toBeUndefined();
    t.resourceCountIs('AWS::SQS::Queue', 0);
    t.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
    expect(fn.architecture.name).toBe('arm64');
  });

  test('the retention is the pattern\'s', () => {
    const stack = newStack();
    bundledFunction(stack, 'Fn', MarkerObjectFunction, {}, { logGroupId: 'FnLogs', logRetention: logs.RetentionDays.ONE_MONTH });
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('an async handler sends failures to a dead-letter queue through an on-failure destination', () => {
    const stack = newStack();
    const { deadLetterQueue } = bundledFunction(stack, 'Fn', MarkerObjectFunction, {}, {
      logGroupId: 'FnLogs', asyncFailures: { queueId: 'FnDlq', owner: 'the test function' },
    });
    const t = Template.fromStack(stack);
    const queueId = ref(stack, deadLetterQueue!);
    expect(queueId).toMatch(/^FnDlq/);
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Action: 'sqs:SendMessage', Effect: 'Allow', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } }]) },
    });
  });

  test('the pattern\'s key encrypts the log group and the dead-letter queue, and is granted to who writes them', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const { deadLetterQueue } = bundledFunction(stack, 'Fn', MarkerObjectFunction, {}, {
      logGroupId: 'FnLogs', encryptionKey: key, asyncFailures: { queueId: 'FnDlq', owner: 'the test function', senders: ['events.amazonaws.com', 'sns.amazonaws.com'] },
    });
    bundledFunction(stack, 'Fn2', MarkerObjectFunction, {}, { logGroupId: 'Fn2Logs', encryptionKey: key });
    const t = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [ref(stack, key), 'Arn'] };
    t.resourcePropertiesCountIs('AWS::Logs::LogGroup', { KmsKeyId: keyArn }, 2);
    expect(t.toJSON().Resources[ref(stack, deadLetterQueue!)].Properties.KmsMasterKeyId).toEqual(keyArn);
    const keyPolicy: any[] = Object.values<any>(t.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement;
    const logsStatements = keyPolicy.filter((st) => st.Principal?.Service === 'logs.eu-west-1.amazonaws.com');
    expect(logsStatements).toHaveLength(1); // once per key, however many log groups
    expect(logsStatements[0].Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:123456789012:log-group:*']],
    });
    const senders = keyPolicy.flatMap((st) => [].concat(st.Principal?.Service ?? []));
    expect(senders).toEqual(expect.arrayContaining(['events.amazonaws.com', 'sns.amazonaws.com']));
    // The function's role sends to the queue: exact KMS actions on the key, no ReEncrypt* / GenerateDataKey*.
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Effect: 'Allow', Resource: keyArn }]) },
    });
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).not.toMatch(/ReEncrypt|GenerateDataKey\*/);
    expect(findWildcardActions(t).map((f) => f.resourceType)).toEqual(['AWS::KMS::Key']); // the account root's kms:*
  });

  test('an imported key cannot be given the CloudWatch Logs statement: a warning says what its policy needs', () => {
    const stack = newStack();
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555');
    bundledFunction(stack, 'Fn', MarkerObjectFunction, {}, { logGroupId: 'FnLogs', encryptionKey: key });
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: key.keyArn });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('key policy must allow logs.<region>.amazonaws.com'));
  });

  test('the basic execution role and the on-failure destination are acknowledged: no finding on the handler but X-Ray\'s (its own settings given)', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    bundledFunction(stack, 'Fn', MarkerObjectFunction, { memorySize: 256, timeout: Duration.seconds(10) }, {
      logGroupId: 'FnLogs', encryptionKey: key, asyncFailures: { queueId: 'FnDlq', owner: 'the test function' },
    });
    const findings = runNag(stack).filter((f) => f.severity === 'error').map((f) => `${f.rule} ${f.path}`);
    // The only finding left is the X-Ray statement on Resource::*, which each pattern acknowledges with its own reason.
    expect(findings).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::\*\] .*Fn\/ServiceRole\/DefaultPolicy/)]);
  });
});

describe('handler network (CT.LAMBDA.PR.3) and dead-letter queues (CT.SQS.PR.1)', () => {
  const vpcStack = () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, restrictDefaultSecurityGroup: false });
    return { stack, vpc };
  };

  test('a handler network puts the function in the private subnets with a security group of its own; the VPC access role is acknowledged', () => {
    const { stack, vpc } = vpcStack();
    bundledFunction(stack, 'Fn', MarkerObjectFunction, { memorySize: 256, timeout: Duration.seconds(10) }, {
      logGroupId: 'FnLogs', network: handlerNetwork(stack, { handlerVpc: vpc }), asyncFailures: { queueId: 'FnDlq', owner: 'the test function' },
    });
    const t = Template.fromStack(stack);
    const fn = Object.values<any>(t.findResources('AWS::Lambda::Function'))[0].Properties;
    const privateSubnets = vpc.privateSubnets.map((sn) => ({ Ref: ref(stack, sn) }));
    expect(fn.VpcConfig.SubnetIds).toEqual(privateSubnets);
    expect(fn.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^FnSecurityGroup/), 'GroupId'] }]);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Automatic security group for Lambda Function'),
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1', Description: 'Allow all outbound traffic by default' }],
    });
    const findings = runNag(stack).filter((f) => f.severity === 'error' && f.path.startsWith('S/Fn')).map((f) => f.rule);
    expect(findings).not.toContainEqual(expect.stringMatching(/AWSLambdaVPCAccessExecutionRole/));
    expect(findings).toEqual(['AwsSolutions-IAM5[Resource::*]']); // X-Ray, acknowledged by each pattern
  });

  test('the given subnets and security groups are used as they are (no group created)', () => {
    const { stack, vpc } = vpcStack();
    const sg = new ec2.SecurityGroup(stack, 'HandlerSg', { vpc, allowAllOutbound: false });
    bundledFunction(stack, 'Fn', MarkerObjectFunction, {}, {
      logGroupId: 'FnLogs',
      network: handlerNetwork(stack, { handlerVpc: vpc, handlerVpcSubnets: { subnets: [vpc.privateSubnets[1]] }, handlerSecurityGroups: [sg] }),
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: [{ Ref: ref(stack, vpc.privateSubnets[1]) }], SecurityGroupIds: [{ 'Fn::GetAtt': [ref(stack, sg), 'GroupId'] }] },
    });
    t.resourceCountIs('AWS::EC2::SecurityGroup', 1);
  });

  test.each<[string, (vpc: ec2.IVpc, sg: ec2.ISecurityGroup) => object, RegExp]>([
    ['subnets without a VPC', () => ({ handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }),
      /S: invalid prop 'handlerVpc': is required when handlerVpcSubnets is given/],
    ['security groups without a VPC', (_vpc, sg) => ({ handlerSecurityGroups: [sg] }),
      /S: invalid prop 'handlerVpc': is required when handlerSecurityGroups is given/],
    ['no security group in the list', (vpc) => ({ handlerVpc: vpc, handlerSecurityGroups: [] }),
      /S: invalid prop 'handlerSecurityGroups': must hold 1..5 security groups .*got 0/],
    ['six security groups', (vpc, sg) => ({ handlerVpc: vpc, handlerSecurityGroups: [sg, sg, sg, sg, sg, sg] }),
      /'handlerSecurityGroups': must hold 1..5 security groups .*got 6/],
  ])('validation: %s', (_name, props, message) => {
    const { stack, vpc } = vpcStack();
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    expect(() => handlerNetwork(stack, props(vpc, sg))).toThrow(message);
  });

  test('no network props: no VPC (undefined), nothing validated away', () => {
    expect(handlerNetwork(newStack(), {})).toBeUndefined();
  });

  test('a dead-letter queue declares itself one: redrive allow policy allowAll (denyAll would fail CT.SQS.PR.1)', () => {
    const stack = newStack();
    bundledFunction(stack, 'Fn', MarkerObjectFunction, {}, { logGroupId: 'FnLogs', asyncFailures: { queueId: 'FnDlq', owner: 'the test function' } });
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', { RedriveAllowPolicy: { redrivePermission: 'allowAll' } });
  });
});
