/** Template assertions and validation of ManagedInstanceLambda (with its pool, alias, pruner and warmer). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ManagedCapacityPool, ManagedCapacityPoolProps } from '../../src/managed-instance-lambda/managed-capacity-pool';
import { ManagedInstanceLambda, ManagedInstanceLambdaProps } from '../../src/managed-instance-lambda/managed-instance-lambda';
import { VersionPruner } from '../../src/managed-instance-lambda/version-pruner';
import { WARMER_EVENT_SOURCE } from '../../src/managed-instance-lambda/warmer';
import { ManagedInstanceWarnings } from '../../src/managed-instance-lambda/warnings';
import { expectNoWildcardActions, findWildcardActions } from '../harness/iam';
import { expectNoUnsuppressedNagErrors } from '../harness/nag';

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const CODE = lambda.Code.fromInline('exports.handler = async () => ({ ok: true });');
/** A directory asset for runtimes that take no inline code (Java, the OS-only runtime). */
const ASSET_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'mil-asset-'));
fs.writeFileSync(path.join(ASSET_DIR, 'bootstrap'), '#!/bin/sh\n');
const asset = () => lambda.Code.fromAsset(ASSET_DIR);

function setup(poolProps: Partial<ManagedCapacityPoolProps> = {}) {
  const app = new App({ context: { 'availability-zones:account=123456789012:region=us-east-1': ZONES } });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 3, natGateways: 1 });
  vpc.addFlowLog('FlowLog');
  const pool = new ManagedCapacityPool(stack, 'Pool', { vpc, ...poolProps });
  return { stack, vpc, pool };
}

function router(scope: Stack, pool: ManagedCapacityPool | undefined, props: Partial<ManagedInstanceLambdaProps> = {}, id = 'Router') {
  return new ManagedInstanceLambda(scope, id, {
    pool,
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: CODE,
    // The user's choices for the user's function (cdk-nag asks for them).
    timeout: Duration.seconds(30),
    ...props,
  });
}

/** The function's asynchronous-failure rule belongs to the user (an event source with its own DLQ here). */
function acknowledgeUserDlq(fn: ManagedInstanceLambda): void {
  Validations.of(fn.lambdaFunction).acknowledge({ id: 'Serverless-LambdaDLQ', reason: 'The test\'s stand-in for a user function invoked synchronously.' });
}

function fnProps(template: Template, idPrefix = 'Router'): any {
  const fns = template.findResources('AWS::Lambda::Function', { Properties: { CapacityProviderConfig: Match.anyValue() } });
  const entry = Object.entries<any>(fns).find(([id]) => id.startsWith(idPrefix));
  return entry![1].Properties;
}

describe('ManagedInstanceLambda, the issue\'s router', () => {
  const { stack, pool } = setup();
  const r = router(stack, pool, { memoryGiBPerVCpu: 2, maxConcurrencyPerEnvironment: 4, minExecutionEnvironments: 3, maxExecutionEnvironments: 20 });
  acknowledgeUserDlq(r);
  const template = Template.fromStack(stack);

  test('attached to the pool with memory per vCPU and concurrency; arm64; 2048 MiB', () => {
    const p = fnProps(template);
    expect(p.CapacityProviderConfig).toEqual({
      LambdaManagedInstancesCapacityProviderConfig: {
        CapacityProviderArn: { 'Fn::GetAtt': [expect.stringMatching(/^Pool/), 'Arn'] },
        ExecutionEnvironmentMemoryGiBPerVCpu: 2,
        PerExecutionEnvironmentMaxConcurrency: 4,
      },
    });
    expect(p.Architectures).toEqual(['arm64']);
    expect(p.MemorySize).toBe(2048);
    expect(p.VpcConfig).toBeUndefined();
    expect(r.vCpuPerEnvironment).toBe(1);
  });

  test('$LATEST.PUBLISHED keeps no environments: the published version behind the alias holds min 3 / max 20', () => {
    expect(fnProps(template).FunctionScalingConfig).toEqual({ MinExecutionEnvironments: 0, MaxExecutionEnvironments: 1 });
    const versions = template.findResources('AWS::Lambda::Version');
    expect(Object.keys(versions)).toHaveLength(1);
    const [versionId, version] = Object.entries<any>(versions)[0];
    expect(version.Properties.FunctionScalingConfig).toEqual({ MinExecutionEnvironments: 3, MaxExecutionEnvironments: 20 });
    expect(version.DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      FunctionVersion: { 'Fn::GetAtt': [versionId, 'Version'] },
    });
  });

  test('a code change publishes a new version (new logical id) and moves the alias', () => {
    const other = setup();
    router(other.stack, other.pool, { code: lambda.Code.fromInline('exports.handler = async () => ({ ok: 2 });') });
    const before = Object.keys(template.findResources('AWS::Lambda::Version'));
    const after = Object.keys(Template.fromStack(other.stack).findResources('AWS::Lambda::Version'));
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
  });

  test('a configuration change (concurrency) also publishes a new version', () => {
    const a = setup();
    router(a.stack, a.pool, { maxConcurrencyPerEnvironment: 4 });
    const b = setup();
    router(b.stack, b.pool, { maxConcurrencyPerEnvironment: 8 });
    const ids = [a, b].map((s) => Object.keys(Template.fromStack(s.stack).findResources('AWS::Lambda::Version'))[0]);
    expect(ids[0]).not.toBe(ids[1]);
  });

  test('alarms on the alias: error rate 5% and throttles', () => {
    const alarms = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const errorRate = alarms.find((a) => a.Metrics && JSON.stringify(a.Metrics).includes('100 * errors / invocations'));
    expect(errorRate).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(JSON.stringify(errorRate.Metrics)).toMatch(/"Name":"Resource","Value":\{"Fn::Join":\["",\[\{"Ref":"Router/);
    const throttles = alarms.find((a) => a.MetricName === 'Throttles');
    expect(throttles).toMatchObject({ Namespace: 'AWS/Lambda', Threshold: 1 });
    expect(JSON.stringify(throttles.Dimensions)).toMatch(/live/);
  });

  test('grantInvoke grants the alias, not the unqualified function', () => {
    const s = setup();
    const fn = router(s.stack, s.pool);
    const role = new iam.Role(s.stack, 'Caller', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    fn.grantInvoke(role);
    const t = Template.fromStack(s.stack);
    const policies = Object.values<any>(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('Caller'));
    const resources = JSON.stringify(policies.map((p) => p.Properties.PolicyDocument.Statement));
    expect(resources).toMatch(/lambda:InvokeFunction/);
    expect(resources).toMatch(/RouterAlias/);
  });

  test('the stack\'s version pruner takes the function (scoped to it)', () => {
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => ([] as string[]).concat(s.Action).includes('lambda:DeleteFunction'));
    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0].Resource)).toMatch(/RouterFunction/);
    expect(JSON.stringify(statements[0].Resource)).not.toMatch(/"\*"/);
  });

  test('no wildcard actions; cdk-nag clean', () => {
    expectNoWildcardActions(template);
    expectNoUnsuppressedNagErrors(stack);
  });
});

describe('ManagedInstanceLambda defaults', () => {
  test('concurrency defaults to the runtime\'s documented figure per vCPU, written into the template', () => {
    const { stack, pool } = setup({ instanceTypes: [new ec2.InstanceType('m7g.xlarge')], maxVCpu: 128 });
    router(stack, pool, { memorySize: 4096 }, 'Node');
    router(stack, pool, { runtime: lambda.Runtime.PYTHON_3_13, memorySize: 8192 }, 'Py');
    router(stack, pool, { runtime: lambda.Runtime.JAVA_21, memorySize: 2048, code: asset(), handler: 'example.Handler' }, 'Jv');
    const t = Template.fromStack(stack);
    const conc = (id: string) => fnProps(t, id).CapacityProviderConfig
      .LambdaManagedInstancesCapacityProviderConfig.PerExecutionEnvironmentMaxConcurrency;
    expect(conc('Node')).toBe(128); // 2 vCPU x 64
    expect(conc('Py')).toBe(64); // 4 vCPU x 16
    expect(conc('Jv')).toBe(32);
  });

  test('min 3 / max 10 environments, alias "live"', () => {
    const { stack, pool } = setup();
    router(stack, pool);
    const t = Template.fromStack(stack);
    const [version] = Object.values<any>(t.findResources('AWS::Lambda::Version'));
    expect(version.Properties.FunctionScalingConfig).toEqual({ MinExecutionEnvironments: 3, MaxExecutionEnvironments: 10 });
    t.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live' });
    t.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  test('an imported capacity provider: attached by ARN, no capacity check', () => {
    const stack = new Stack(new App(), 'Imp', { env: { account: '123456789012', region: 'us-east-1' } });
    const provider = lambda.CapacityProvider.fromCapacityProviderArn(stack, 'Shared', 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:shared');
    router(stack, undefined, { capacityProvider: provider, maxExecutionEnvironments: 5000 });
    const p = fnProps(Template.fromStack(stack));
    expect(p.CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.CapacityProviderArn)
      .toBe('arn:aws:lambda:us-east-1:123456789012:capacity-provider:shared');
  });

  test('an imported pool with a ceiling checks the capacity', () => {
    const stack = new Stack(new App(), 'Imp', { env: { account: '123456789012', region: 'us-east-1' } });
    const pool = ManagedCapacityPool.fromCapacityProviderArn(stack, 'Shared', 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:shared', { maxVCpu: 16 });
    router(stack, pool as any, { maxExecutionEnvironments: 20 });
    expect(() => Template.fromStack(stack)).toThrow(/21 vCPUs at their maximum execution environments, above maxVCpu 16/);
  });

  test('the stack\'s pruner, created by the first function, takes its alarm topic and key; a configured one is used as it is', () => {
    const { stack, pool } = setup();
    const topic = new sns.Topic(stack, 'Alarms');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    router(stack, pool, { alarmTopic: topic, encryptionKey: key });
    router(stack, pool, {}, 'Second');
    const pruner = VersionPruner.find(stack)!;
    expect(pruner).toBeDefined();
    const t = Template.fromStack(stack);
    const prunerAlarms = Object.entries<any>(t.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.startsWith('CdkProductionPatternsVersionPruner'));
    expect(prunerAlarms.length).toBeGreaterThan(0);
    for (const [, a] of prunerAlarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Alarms/) }]);

    const other = setup();
    const configured = VersionPruner.of(other.stack, { versionsToKeep: 3 });
    router(other.stack, other.pool, { alarmTopic: new sns.Topic(other.stack, 'Alarms') });
    expect(VersionPruner.find(other.stack)).toBe(configured);
  });

  test('pruneVersions false: no pruner, and a warning about the 100-version cap', () => {
    const { stack, pool } = setup();
    router(stack, pool, { pruneVersions: false });
    Annotations.fromStack(stack).hasWarning('/Test/Router', Match.stringLikeRegexp('pruneVersions is false.*at most 100 function versions'));
    const t = Template.fromStack(stack);
    const deletes = Object.values<any>(t.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s: any) => ([] as string[]).concat(s.Action).includes('lambda:DeleteFunction'));
    expect(deletes).toEqual([]);
  });
});

describe('ManagedInstanceLambda capacity check at synth', () => {
  // Each function counts its alias's version at its maximum plus $LATEST.PUBLISHED at most 1 environment.
  test('the functions\' maximum above the pool\'s maxVCpu fails synth, naming both functions', () => {
    const { stack, pool } = setup({ maxVCpu: 32 });
    router(stack, pool, { maxExecutionEnvironments: 20 }, 'A');
    router(stack, pool, { maxExecutionEnvironments: 10, memorySize: 4096 }, 'B');
    expect(() => Template.fromStack(stack)).toThrow(/43 vCPUs at their maximum.*above maxVCpu 32.*Test\/A: 21 x 1 vCPU.*Test\/B: 11 x 2 vCPU/);
  });

  test('minimum environments over half the pool warn', () => {
    const { stack, pool } = setup({ maxVCpu: 16 });
    router(stack, pool, { minExecutionEnvironments: 9, maxExecutionEnvironments: 9 });
    Annotations.fromStack(stack).hasWarning('/Test/Pool', Match.stringLikeRegexp('minimum execution environments alone take 9 of the pool\'s 16'));
  });

  test('an environment larger than the largest allowed instance type fails', () => {
    const { stack, pool } = setup();
    router(stack, pool, { memorySize: 16384, maxExecutionEnvironments: 2, minExecutionEnvironments: 1 });
    expect(() => Template.fromStack(stack)).toThrow(/an execution environment of 8 vCPU does not fit the largest allowed instance type \(m7g.xlarge, 4 vCPU\)/);
  });
});

describe('ManagedInstanceLambda warmer (opt-in)', () => {
  const { stack, pool } = setup();
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  acknowledgeUserDlq(router(stack, pool, { warmer: {}, encryptionKey: key }));
  const template = Template.fromStack(stack);

  test('a schedule invokes the alias every 5 minutes with the documented marker payload, with a DLQ and retries', () => {
    const [schedule] = Object.values<any>(template.findResources('AWS::Scheduler::Schedule')).map((s) => s.Properties);
    expect(schedule.ScheduleExpression).toBe('rate(5 minutes)');
    expect(JSON.stringify(schedule.Target.Arn)).toMatch(/RouterAlias/);
    const input = JSON.parse(JSON.stringify(stack.resolve(schedule.Target.Input)));
    expect(input).toMatch(new RegExp(`"source":"${WARMER_EVENT_SOURCE.replace(/\./g, '\\.')}"`));
    expect(input).toMatch(/"warmer":true/);
    expect(input).toMatch(/<aws.scheduler.scheduled-time>/);
    expect(schedule.Target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RouterWarmerDeadLetterQueue/), 'Arn'] });
    expect(schedule.Target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 2 });
    expect(JSON.stringify(schedule.KmsKeyArn)).toMatch(/Key/);
  });

  test('the warmer warns that minExecutionEnvironments is the lever', () => {
    Annotations.fromStack(stack).hasWarning('/Test/Router', Match.stringLikeRegexp('minExecutionEnvironments keeps them running'));
    expect(ManagedInstanceWarnings.WARMER).toMatch(/^cdk-production-patterns:/);
  });

  test('the customer key encrypts the function\'s log group, environment and the warmer\'s queue', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    expect(JSON.stringify(fnProps(template).KmsKeyArn)).toMatch(/Key/);
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
  });

  test('no wildcard actions (besides the test key\'s own admin statement); cdk-nag clean', () => {
    expect(findWildcardActions(template).filter((w) => !w.logicalId.startsWith('Key'))).toEqual([]);
    expectNoUnsuppressedNagErrors(stack);
  });

  test('interval validation: whole minutes in 1..60', () => {
    const s = setup();
    expect(() => router(s.stack, s.pool, { warmer: { interval: Duration.hours(2) } }))
      .toThrow(/Test\/Router: invalid prop 'warmer.interval': must be whole minutes in 1..60, got 2 hours/);
  });
});

describe('ManagedInstanceLambda validation', () => {
  const cases: Array<[string, Partial<ManagedInstanceLambdaProps>, RegExp]> = [
    ['memoryGiBPerVCpu 1', { memoryGiBPerVCpu: 1 }, /'memoryGiBPerVCpu': must be in 2..8, got 1/],
    ['memoryGiBPerVCpu 9', { memoryGiBPerVCpu: 9 }, /'memoryGiBPerVCpu': must be in 2..8, got 9/],
    ['concurrency 0', { maxConcurrencyPerEnvironment: 0 }, /'maxConcurrencyPerEnvironment': must be an integer in 1..1600, got 0/],
    ['concurrency 1601', { maxConcurrencyPerEnvironment: 1601 }, /'maxConcurrencyPerEnvironment': must be an integer in 1..1600, got 1601/],
    ['min above max', { minExecutionEnvironments: 5, maxExecutionEnvironments: 4 }, /'maxExecutionEnvironments': must be at least minExecutionEnvironments \(5\), got 4/],
    ['min -1', { minExecutionEnvironments: -1 }, /'minExecutionEnvironments': must be an integer in 0..15000, got -1/],
    ['memory 1024', { memorySize: 1024 }, /'memorySize': must be an integer in 2048..32768, got 1024/],
    ['memory below one vCPU', { memorySize: 4096, memoryGiBPerVCpu: 8 }, /'memorySize': 4096 MiB at 8 GiB per vCPU is less than one vCPU: give at least 8192 MiB/],
    ['Node.js 20', { runtime: lambda.Runtime.NODEJS_20_X }, /'runtime': nodejs20.x does not run on Lambda Managed Instances: use Node.js 22 or later/],
    ['Python 3.12', { runtime: lambda.Runtime.PYTHON_3_12 }, /'runtime': python3.12 does not run on Lambda Managed Instances: use Python 3.13 or later/],
    ['x86 on an arm64 pool', { architecture: lambda.Architecture.X86_64 }, /'architecture': is x86_64 but the pool runs arm64 instances/],
    ['a VPC', { vpc: {} as ec2.IVpc }, /'vpc': is not taken: a Managed Instances function runs in its capacity provider's subnets/],
    ['a numeric alias', { aliasName: '42' }, /'aliasName': must be 1..128 letters, digits, - or _, not only digits, got '42'/],
    ['versionsToKeep without pruning', { pruneVersions: false, versionsToKeep: 3 }, /'versionsToKeep': is given but pruneVersions is false/],
  ];
  test.each(cases)('%s is refused with the prop and the range', (_name, props, message) => {
    const { stack, pool } = setup();
    expect(() => router(stack, pool, props)).toThrow(message);
  });

  test('neither or both of pool and capacityProvider', () => {
    const { stack, pool } = setup();
    expect(() => router(stack, undefined, {}, 'None')).toThrow(/Test\/None: invalid prop 'pool': give exactly one of pool and capacityProvider/);
    expect(() => router(stack, pool, { capacityProvider: pool.capacityProvider }, 'Both')).toThrow(/give exactly one of pool and capacityProvider/);
  });

  test('a fractional vCPU count warns; the OS-only runtime without concurrency warns', () => {
    const { stack, pool } = setup();
    router(stack, pool, { memorySize: 3072 }, 'Frac');
    router(stack, pool, { runtime: lambda.Runtime.PROVIDED_AL2023, handler: 'bootstrap', code: asset() }, 'Rust');
    const a = Annotations.fromStack(stack);
    a.hasWarning('/Test/Frac', Match.stringLikeRegexp('gives 1.50 vCPUs per execution environment'));
    a.hasWarning('/Test/Rust', Match.stringLikeRegexp('provided.al2023 has no documented default concurrency'));
  });
});
