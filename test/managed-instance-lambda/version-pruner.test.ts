/**
 * The VersionPruner construct: the template (IAM scoped to the targets' ARNs, the schedule and its
 * input, the after-deploy custom resource after the versions, the alarms), the singleton, the
 * validation errors, cdk-nag.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { VersionPruner } from '../../src/managed-instance-lambda/version-pruner';
import { ManagedInstanceWarnings } from '../../src/managed-instance-lambda/warnings';
import { expectNoWildcardActions } from '../harness/iam';
import { expectNoUnsuppressedNagErrors, runNag } from '../harness/nag';

function stack(): Stack {
  return new Stack(new App(), 'Pruned', { env: { account: '123456789012', region: 'us-east-1' } });
}

function fn(scope: Stack, id: string): lambda.Function {
  return new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1;'),
  });
}

function pool(scope: Stack, id = 'Pool'): lambda.ICapacityProvider {
  return lambda.CapacityProvider.fromCapacityProviderName(scope, id, `${id.toLowerCase()}-provider`);
}

const lambdaStatements = (t: Template) => Object.values(t.findResources('AWS::IAM::Policy'))
  .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
  .filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('lambda:')));

describe('template', () => {
  const s = stack();
  const router = fn(s, 'Router');
  const worker = fn(s, 'Worker');
  const imported = lambda.Function.fromFunctionArn(s, 'Legacy', 'arn:aws:lambda:us-east-1:123456789012:function:legacy');
  const provider = pool(s);
  const topic = new sns.Topic(s, 'Alerts');
  const pruner = VersionPruner.of(s, { alarmTopic: topic });
  pruner.addFunction(router, { capacityProvider: provider, version: router.currentVersion });
  pruner.addFunction(worker, { capacityProvider: provider, versionsToKeep: 3 });
  pruner.addFunction(imported);
  const t = Template.fromStack(s);
  const routerVersionId = Object.keys(t.findResources('AWS::Lambda::Version')).find((id) => id.startsWith('RouterCurrentVersion'))!;

  test('the role may list versions and aliases of the targets (<arn>) and delete their versions only (<arn>:*, never <arn>)', () => {
    const statements = lambdaStatements(t);
    for (const st of statements) expect(st.Effect).toBe('Allow');
    const resourcesOf = (action: string) => statements
      .filter((st: any) => [st.Action].flat().includes(action))
      .flatMap((st: any) => [st.Resource].flat())
      .map((r: unknown) => JSON.stringify(r))
      .sort();
    expect(new Set(statements.flatMap((st: any) => [st.Action].flat()))).toEqual(new Set([
      'lambda:ListVersionsByFunction', 'lambda:ListAliases', 'lambda:DeleteFunction', 'lambda:ListFunctionVersionsByCapacityProvider',
    ]));
    // the headroom asks the provider: on the capacity provider's ARN only
    expect(resourcesOf('lambda:ListFunctionVersionsByCapacityProvider')).toEqual([JSON.stringify(s.resolve(provider.capacityProviderArn))]);
    const routerArn = { 'Fn::GetAtt': [s.getLogicalId(router.node.defaultChild as lambda.CfnFunction), 'Arn'] };
    const routerVersions = { 'Fn::Join': ['', [routerArn, ':*']] };
    const legacy = 'arn:aws:lambda:us-east-1:123456789012:function:legacy';
    for (const list of ['lambda:ListVersionsByFunction', 'lambda:ListAliases']) {
      expect(resourcesOf(list)).toContainEqual(JSON.stringify(routerArn));
      expect(resourcesOf(list)).toContainEqual(JSON.stringify(legacy));
      expect(resourcesOf(list).every((r: string) => !r.includes(':*'))).toBe(true);
      expect(resourcesOf(list)).toHaveLength(3);
    }
    const deletes = resourcesOf('lambda:DeleteFunction');
    expect(deletes).toHaveLength(3);
    expect(deletes).toContainEqual(JSON.stringify(routerVersions));
    expect(deletes).toContainEqual(JSON.stringify(`${legacy}:*`));
    // DeleteFunction on the unqualified ARN would delete the function itself
    expect(deletes).not.toContainEqual(JSON.stringify(routerArn));
    expect(deletes).not.toContainEqual(JSON.stringify(legacy));
    expectNoWildcardActions(t);
  });

  test('a daily schedule whose input carries the targets; retries and the dead-letter queue on the target', () => {
    const rules = Object.values(t.findResources('AWS::Events::Rule'));
    expect(rules).toHaveLength(1);
    const rule: any = rules[0];
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 day)');
    const target = rule.Properties.Targets[0];
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 2 });
    expect(target.DeadLetterConfig.Arn['Fn::GetAtt'][0]).toMatch(/DeadLetters/);
    const input = JSON.stringify(s.resolve(target.Input));
    expect(input).toContain('cdk-production-patterns.version-pruner');
    expect(input).toContain('arn:aws:lambda:us-east-1:123456789012:function:legacy');
    expect(input).toContain('\\"versionsToKeep\\":3');
    expect(input).toContain('pool-provider');
  });

  test('the handler: arm64, its configuration in the environment (not the target list), no reserved concurrency', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Environment: { Variables: { VERSIONS_TO_KEEP: '5', DRY_RUN: 'false', AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1' } },
      // reserving 1 fails in accounts whose concurrency quota is 10; concurrent runs are harmless
      ReservedConcurrentExecutions: Match.absent(),
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
      DeadLetterConfig: Match.absent(),
    });
  });

  test('the after-deploy custom resource: the targets, the published versions, after the versions and the role policy', () => {
    const crs = t.findResources('Custom::LambdaVersionPruner');
    const [id, cr]: [string, any] = Object.entries(crs)[0];
    expect(Object.keys(crs)).toHaveLength(1);
    expect(cr.DependsOn).toEqual(expect.arrayContaining([routerVersionId]));
    expect(cr.DependsOn.some((d: string) => /Policy/.test(d))).toBe(true);
    expect(cr.Properties.Targets).toHaveLength(3);
    expect(cr.Properties.PublishedVersions).toEqual([
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [s.getLogicalId(router.node.defaultChild as lambda.CfnFunction), 'Arn'] }, ':', { 'Fn::GetAtt': [routerVersionId, 'Version'] }]] },
    ]);
    expect(cr.Properties).toMatchObject({ VersionsToKeep: 5, DryRun: false });
    // the handler answers before its 5-minute timeout: CloudFormation need not wait the default hour
    expect(cr.Properties.ServiceTimeout).toBe('600');
    expect(cr.Properties.ServiceToken['Fn::GetAtt'][1]).toBe('Arn');
    expect(id).toMatch(/AfterDeployRun/);
  });

  test('alarms: failures, handler errors, dead letters, and one headroom alarm per capacity provider, all to the topic', () => {
    expect(pruner.alarms).toHaveLength(4);
    expect(pruner.headroomAlarms).toHaveLength(1);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'VersionHeadroom',
      Namespace: 'CdkProductionPatterns/ManagedInstanceLambda',
      Dimensions: Match.arrayWith([{ Name: 'CapacityProvider', Value: 'pool-provider' }, { Name: 'service', Value: 'version-pruner' }]),
      Threshold: 20,
      ComparisonOperator: 'LessThanThreshold',
      Statistic: 'Minimum',
      TreatMissingData: 'ignore',
      AlarmActions: [{ Ref: s.getLogicalId(topic.node.defaultChild as sns.CfnTopic) }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PruneFailures', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible' });
    t.resourceCountIs('AWS::CloudWatch::Alarm', 4);
  });

  test('metric helpers name the metrics the handler publishes', () => {
    expect(s.resolve(pruner.metricVersionHeadroom('p').toMetricConfig().metricStat)).toMatchObject({
      metricName: 'VersionHeadroom',
      namespace: 'CdkProductionPatterns/ManagedInstanceLambda',
      dimensions: expect.arrayContaining([{ name: 'service', value: 'version-pruner' }, { name: 'CapacityProvider', value: 'p' }]),
    });
    expect(pruner.metricVersionsDeleted().metricName).toBe('VersionsDeleted');
    expect(pruner.metricVersionsKept().metricName).toBe('VersionsKept');
    expect(pruner.metricDeleteConflicts().metricName).toBe('DeleteConflicts');
    expect(pruner.metricVersionsPlannedForDeletion().metricName).toBe('VersionsPlannedForDeletion');
  });

  test('cdk-nag: no unsuppressed finding on the pruner\'s resources (the test\'s own functions and topic aside)', () => {
    const ours = runNag(s).filter((f) => f.path.includes('CdkProductionPatternsVersionPruner'));
    expect(ours).toEqual([]);
    // and the whole stack passes once the test's own resources are the pruner's only
    const alone = stack();
    VersionPruner.of(alone).addFunction(lambda.Function.fromFunctionArn(alone, 'Imported', 'arn:aws:lambda:us-east-1:123456789012:function:f'),
      { capacityProvider: pool(alone) });
    expectNoUnsuppressedNagErrors(alone);
  });
});

describe('the stack\'s singleton', () => {
  test('of() returns the same pruner for any scope of the stack; the same props again are accepted', () => {
    const s = stack();
    const props = { versionsToKeep: 4, schedule: events.Schedule.rate(Duration.hours(6)) };
    const a = VersionPruner.of(s, props);
    const child = new ec2.Vpc(s, 'Vpc', { maxAzs: 1, natGateways: 0 });
    expect(VersionPruner.of(child)).toBe(a);
    expect(VersionPruner.of(s, { versionsToKeep: 4, schedule: events.Schedule.rate(Duration.hours(6)) })).toBe(a);
    expect(a.versionsToKeep).toBe(4);
  });

  test('other props on a later call are an error naming the rule', () => {
    const s = stack();
    VersionPruner.of(s, { versionsToKeep: 4 });
    expect(() => VersionPruner.of(s, { versionsToKeep: 6 })).toThrow(/already created with other props: give its props on the first VersionPruner.of\(\) call only/);
  });

  test('targets added after construction land in the schedule and the custom resource (Lazy)', () => {
    const s = stack();
    const pruner = VersionPruner.of(s, { dryRun: true, schedule: events.Schedule.cron({ hour: '3', minute: '0' }), runAfterDeploy: true });
    const late = fn(s, 'Late');
    pruner.addFunction(late);
    const t = Template.fromStack(s);
    const cr: any = Object.values(t.findResources('Custom::LambdaVersionPruner'))[0];
    expect(cr.Properties.Targets).toEqual([{ functionName: { 'Fn::GetAtt': [s.getLogicalId(late.node.defaultChild as lambda.CfnFunction), 'Arn'] } }]);
    expect(cr.Properties.DryRun).toBe(true);
    expect(cr.Properties.PublishedVersions).toBeUndefined();
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 3 * * ? *)' });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ DRY_RUN: 'true' }) } });
  });

  test('runAfterDeploy: false creates no custom resource', () => {
    const s = stack();
    VersionPruner.of(s, { runAfterDeploy: false }).addFunction(fn(s, 'F'));
    Template.fromStack(s).resourceCountIs('Custom::LambdaVersionPruner', 0);
  });

  test('adding a function twice merges its versions; conflicting options are an error', () => {
    const s = stack();
    const f = fn(s, 'F');
    const pruner = VersionPruner.of(s);
    pruner.addFunction(f, { versionsToKeep: 3 });
    pruner.addFunction(f, { version: f.currentVersion });
    // one grant: list on <arn>, delete on <arn>:*
    expect(lambdaStatements(Template.fromStack(s))).toHaveLength(2);
    expect(() => pruner.addFunction(f, { versionsToKeep: 4 })).toThrow(/already added with versionsToKeep 3, now 4/);
  });
});

describe('validation', () => {
  test.each([0, 1, 91, 2.5])('versionsToKeep %p names the prop and the range 2..90', (n) => {
    expect(() => VersionPruner.of(stack(), { versionsToKeep: n })).toThrow(/CdkProductionPatternsVersionPruner: invalid prop 'versionsToKeep': must be an integer in 2\.\.90, got/);
  });

  test('a target\'s versionsToKeep is checked the same way', () => {
    const s = stack();
    expect(() => VersionPruner.of(s).addFunction(fn(s, 'F'), { versionsToKeep: 91 })).toThrow(/invalid prop 'versionsToKeep': must be an integer in 2\.\.90, got 91/);
  });

  test('headroomAlarmThreshold must be 1..99', () => {
    expect(() => VersionPruner.of(stack(), { headroomAlarmThreshold: 100 })).toThrow(/invalid prop 'headroomAlarmThreshold': must be an integer in 1\.\.99, got 100/);
  });

  test('a pruner without any function fails at synth with what to do', () => {
    const s = stack();
    VersionPruner.of(s);
    expect(() => Template.fromStack(s)).toThrow(/the version pruner has no function to prune: call addFunction\(\)/);
  });

  test('more targets than the schedule input can carry fail at synth', () => {
    const s = stack();
    const pruner = VersionPruner.of(s);
    for (let i = 0; i < 60; i++) pruner.addFunction(fn(s, `F${i}`), { capacityProvider: pool(s, `P${i}`) });
    expect(() => Template.fromStack(s)).toThrow(/60 functions need about \d+ characters of schedule input .* EventBridge allows 8192/);
  });

  test('keeping more versions than a capacity provider holds is an error; close to the cap a warning', () => {
    const over = stack();
    const p = pool(over);
    const pruner = VersionPruner.of(over, { versionsToKeep: 60 });
    pruner.addFunction(fn(over, 'A'), { capacityProvider: p });
    pruner.addFunction(fn(over, 'B'), { capacityProvider: p });
    expect(() => Template.fromStack(over)).toThrow(/keep 122 versions in all \(with \$LATEST.PUBLISHED\), more than its cap of 100/);

    const near = stack();
    const q = pool(near);
    const nearPruner = VersionPruner.of(near, { versionsToKeep: 40 });
    nearPruner.addFunction(fn(near, 'A'), { capacityProvider: q });
    nearPruner.addFunction(fn(near, 'B'), { capacityProvider: q });
    Template.fromStack(near);
    const warnings = Annotations.fromStack(near).findWarning('*', Match.stringLikeRegexp('keep 82 versions in all'));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0].entry.data)).toContain(ManagedInstanceWarnings.PRUNER_LOW_HEADROOM);
  });
});
