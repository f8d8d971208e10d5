import { App, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import {
  IpRangeSource, IpRangeSyncedSecurityGroup, IpRangeSyncedSecurityGroupProps, SyncTarget, WafScope,
} from '../../src';

function newStack(region = 'eu-west-1'): { stack: Stack; vpc: ec2.Vpc } {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, restrictDefaultSecurityGroup: false });
  return { stack, vpc };
}

function logicalId(c: IConstruct): string {
  return Stack.of(c).getLogicalId((c.node.defaultChild ?? c) as CfnElement);
}

const ec2UsEast1 = () => IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'] });
const hooks = () => IpRangeSource.githubMeta({ services: ['hooks'] });

describe('logical ids of stateful resources are pinned (a rename replaces the rules, lists, sets or audit trail)', () => {
  test('security-group target: state table, the sharded groups, the dead-letter queue', () => {
    const { stack, vpc } = newStack();
    const i = new IpRangeSyncedSecurityGroup(stack, 'Ingress', { vpc, sources: [ec2UsEast1()], ports: [ec2.Port.tcp(443)] });
    const ids = {
      stateTable: logicalId(i.stateTable),
      groups: i.securityGroups.map(logicalId),
      deadLetterQueue: logicalId(i.deadLetterQueue),
    };
    expect(ids).toEqual({
      stateTable: 'IngressState1F6C8E3A',
      groups: ['IngressGroup15B54C3F2', 'IngressGroup20582A4C5', 'IngressGroup35FC621CE', 'IngressGroup48F6996BD'],
      deadLetterQueue: 'IngressDeadLetters0B2F6A8F',
    });
    const resources = Template.fromStack(stack).toJSON().Resources;
    expect(resources[ids.stateTable].Type).toBe('AWS::DynamoDB::Table');
    expect(ids.groups.map((id) => resources[id]?.Type)).toEqual(Array(4).fill('AWS::EC2::SecurityGroup'));
    expect(resources[ids.deadLetterQueue].Type).toBe('AWS::SQS::Queue');
  });

  test('prefix-list target: the lists and the group referencing them', () => {
    const { stack, vpc } = newStack();
    const i = new IpRangeSyncedSecurityGroup(stack, 'Hooks', { vpc, sources: [hooks()], ports: [ec2.Port.tcp(443)], target: SyncTarget.prefixList({ maxEntries: 20 }) });
    const ids = { stateTable: logicalId(i.stateTable), prefixLists: i.prefixLists.map((pl) => stack.resolve(pl.prefixListId)['Fn::GetAtt'][0]), groups: i.securityGroups.map(logicalId) };
    expect(ids).toEqual({
      stateTable: 'HooksState2287F065', prefixLists: ['HooksPrefixListIpv42E014BB2', 'HooksPrefixListIpv68480A405'], groups: ['HooksPrefixListGroup6D3F0D46'],
    });
    const resources = Template.fromStack(stack).toJSON().Resources;
    expect([...ids.prefixLists, ...ids.groups].map((id) => resources[id]?.Type)).toEqual(['AWS::EC2::PrefixList', 'AWS::EC2::PrefixList', 'AWS::EC2::SecurityGroup']);
  });

  test('WAF target: the IP sets', () => {
    const { stack } = newStack();
    const i = new IpRangeSyncedSecurityGroup(stack, 'Actions', { sources: [IpRangeSource.githubMeta({ services: ['actions'] })], target: SyncTarget.wafIpSet() });
    const ids = { stateTable: logicalId(i.stateTable), ipSets: i.ipSets.map(logicalId) };
    expect(ids).toEqual({ stateTable: 'ActionsState77169DB6', ipSets: ['ActionsIpSetIpv41612FF25', 'ActionsIpSetIpv6D347EE53'] });
    const resources = Template.fromStack(stack).toJSON().Resources;
    expect(ids.ipSets.map((id) => resources[id]?.Type)).toEqual(['AWS::WAFv2::IPSet', 'AWS::WAFv2::IPSet']);
  });
});

describe('grant* and metric* methods', () => {
  const { stack, vpc } = newStack();
  const ingress = new IpRangeSyncedSecurityGroup(stack, 'Ingress', { vpc, sources: [ec2UsEast1()], ports: [ec2.Port.tcp(443)] });
  const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
  ingress.grantReadAudit(reader);
  const template = Template.fromStack(stack);

  test('grantReadAudit: read-only DynamoDB actions on the state table, nothing else', () => {
    const policies = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(logicalId(reader)));
    const st = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const table = { 'Fn::GetAtt': [logicalId(ingress.stateTable), 'Arn'] };
    expect(st).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'],
        Resource: [table],
      },
      { Effect: 'Allow', Action: ['dynamodb:GetRecords', 'dynamodb:GetShardIterator'], Resource: [table] },
    ]);
    expect(st.flatMap((x: any) => x.Action).filter((a: string) => /Put|Update|Delete|Write/.test(a))).toEqual([]);
  });

  test.each<[string, (p?: any) => any, string, string, number]>([
    ['metricSyncFailures', (p) => ingress.metricSyncFailures(p), 'SyncFailure', 'Sum', 300],
    ['metricSuccessfulSyncs', (p) => ingress.metricSuccessfulSyncs(p), 'SuccessfulSync', 'Sum', 3600],
    ['metricGuardRefusals', (p) => ingress.metricGuardRefusals(p), 'GuardRefusal', 'Sum', 3600],
    ['metricCapacityExceeded', (p) => ingress.metricCapacityExceeded(p), 'CapacityExceeded', 'Sum', 3600],
    ['metricAdded', (p) => ingress.metricAdded(p), 'Added', 'Sum', 3600],
    ['metricRemoved', (p) => ingress.metricRemoved(p), 'Removed', 'Sum', 3600],
    ['metricMutatingCalls', (p) => ingress.metricMutatingCalls(p), 'MutatingCalls', 'Sum', 3600],
    ['metricDesiredCidrs', (p) => ingress.metricDesiredCidrs(p), 'DesiredCidrs', 'Maximum', 3600],
    ['metricSyncDuration', (p) => ingress.metricSyncDuration(p), 'SyncDuration', 'p99', 3600],
  ])('%s: namespace, name, the handler\'s dimensions, default statistic and period; options override', (_name, metric, metricName, statistic, period) => {
    const m = metric();
    const { namespace, dimensions } = m;
    const actual = { namespace, metricName: m.metricName, dimensions, statistic: m.statistic, period: m.period.toSeconds() };
    expect(actual).toEqual({
      namespace: 'CdkProductionPatterns/IpRangeSync', metricName, dimensions: { service: 'ip-range-sync', SyncId: ingress.syncId }, statistic, period,
    });
    expect(m.namespace).toBe(IpRangeSyncedSecurityGroup.METRICS_NAMESPACE);
    const custom = metric({ period: Duration.minutes(1), statistic: 'Average' });
    expect({ statistic: custom.statistic, period: custom.period.toSeconds() }).toEqual({ statistic: 'Average', period: 60 });
  });
});

describe('the targets\' checks: errors name the construct path, the prop and the allowed range', () => {
  const sg = (target: SyncTarget, ports = [ec2.Port.tcp(443)]) => (vpc: ec2.IVpc): IpRangeSyncedSecurityGroupProps =>
    ({ vpc, sources: [ec2UsEast1()], ports, target });

  test.each<[string, (vpc: ec2.IVpc) => IpRangeSyncedSecurityGroupProps, string]>([
    ['rulesPerGroup 0', sg(SyncTarget.securityGroups({ rulesPerGroup: 0 })), "Test/Sync: invalid prop 'target.rulesPerGroup': must be an integer in 1..1000, got 0"],
    ['rulesPerGroup 1001', sg(SyncTarget.securityGroups({ rulesPerGroup: 1001, maxGroups: 1 })), "Test/Sync: invalid prop 'target.rulesPerGroup': must be an integer in 1..1000, got 1001"],
    ['rulesPerGroup 2.5', sg(SyncTarget.securityGroups({ rulesPerGroup: 2.5 })), "Test/Sync: invalid prop 'target.rulesPerGroup': must be an integer in 1..1000, got 2.5"],
    ['maxGroups 0', sg(SyncTarget.securityGroups({ maxGroups: 0 })), "Test/Sync: invalid prop 'target.maxGroups': must be an integer in 1..16, got 0"],
    ['maxGroups 17', sg(SyncTarget.securityGroups({ maxGroups: 17 })), "Test/Sync: invalid prop 'target.maxGroups': must be an integer in 1..16, got 17"],
    ['rulesPerGroup x maxGroups over the 1,000 rules per interface', sg(SyncTarget.securityGroups({ rulesPerGroup: 100, maxGroups: 11 })),
      "Test/Sync: invalid prop 'target.rulesPerGroup x target.maxGroups': must not exceed 1000 (rules per group x groups per network interface), got 100 x 11 = 1100"],
    ['maxEntries 0', sg(SyncTarget.prefixList({ maxEntries: 0 })), "Test/Sync: invalid prop 'target.maxEntries': must be an integer in 1..1000, got 0"],
    ['maxEntries 1001', sg(SyncTarget.prefixList({ maxEntries: 1001, createSecurityGroup: false })), "Test/Sync: invalid prop 'target.maxEntries': must be an integer in 1..1000, got 1001"],
    ['securityGroupRuleQuota 0', sg(SyncTarget.prefixList({ maxEntries: 10, securityGroupRuleQuota: 0 })),
      "Test/Sync: invalid prop 'target.securityGroupRuleQuota': must be an integer in 1..1000, got 0"],
    ['securityGroupRuleQuota 1001', sg(SyncTarget.prefixList({ maxEntries: 10, securityGroupRuleQuota: 1001 })),
      "Test/Sync: invalid prop 'target.securityGroupRuleQuota': must be an integer in 1..1000, got 1001"],
    ['prefix-list weight over the group quota (entries x ports)', sg(SyncTarget.prefixList({ maxEntries: 40, securityGroupRuleQuota: 100 }), [ec2.Port.tcp(443), ec2.Port.tcp(80), ec2.Port.tcp(22)]),
      "Test/Sync: invalid prop 'target.maxEntries': a rule referencing a prefix list counts its max entries against the group's quota: 40 entries x 3 port(s) = 120 rules, but the group allows 100 (securityGroupRuleQuota); lower maxEntries, raise the quota, or use SyncTarget.wafIpSet"],
    ['prefix list with a group but no VPC', (_vpc) => ({ sources: [hooks()], ports: [ec2.Port.tcp(443)], target: SyncTarget.prefixList({ maxEntries: 10 }) }),
      "Test/Sync: invalid prop 'vpc': is required by the prefixList target (it creates security groups)"],
    ['prefix list with a group but no ports', sg(SyncTarget.prefixList({ maxEntries: 10 }), []), "Test/Sync: invalid prop 'ports': must list at least one port for the prefixList target"],
  ])('%s', (_name, props, message) => {
    const { stack, vpc } = newStack();
    expect(() => new IpRangeSyncedSecurityGroup(stack, 'Sync', props(vpc))).toThrow(message);
  });

  test('CLOUDFRONT IP sets: the stack must be in us-east-1 (named with its region); a stack in us-east-1 and an env-agnostic one synthesize', () => {
    const cf = (stack: Stack) => new IpRangeSyncedSecurityGroup(stack, 'Sync', { sources: [hooks()], target: SyncTarget.wafIpSet({ scope: WafScope.CLOUDFRONT }) });
    expect(() => cf(newStack('eu-west-1').stack)).toThrow("Test/Sync: invalid prop 'target.scope': CLOUDFRONT IP sets must be created in us-east-1, this stack is in eu-west-1");
    expect(cf(newStack('us-east-1').stack).ipSets).toHaveLength(2);
    expect(cf(new Stack(new App(), 'Agnostic')).ipSets).toHaveLength(2);
  });

  test('the prefix-list quota check is skipped without a created group; WAF needs neither VPC nor ports', () => {
    const { stack } = newStack();
    const pl = new IpRangeSyncedSecurityGroup(stack, 'Pl', { sources: [hooks()], target: SyncTarget.prefixList({ maxEntries: 1000, createSecurityGroup: false }) });
    expect(pl.securityGroups).toHaveLength(0);
    expect(pl.prefixLists).toHaveLength(2);
  });
});

describe('named alarms', () => {
  test('each alarm is a named property, and the list holds exactly them', () => {
    const app = new App();
    const stack = new Stack(app, 'Alarms', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const sync = new IpRangeSyncedSecurityGroup(stack, 'Sync', {
      vpc, sources: [IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'], ipv6: false })], ports: [ec2.Port.tcp(443)],
    });
    const named = [
      sync.syncFailedAlarm, sync.handlerErrorsAlarm, sync.guardRefusalAlarm, sync.capacityExceededAlarm, sync.staleAlarm, sync.deadLettersAlarm,
    ];
    expect(named.map((a) => (a as unknown as IConstruct).node.id)).toEqual([
      'SyncFailedAlarm', 'HandlerErrorsAlarm', 'GuardRefusalAlarm', 'CapacityExceededAlarm', 'StaleAlarm', 'DeadLettersAlarm',
    ]);
    expect(sync.alarms).toEqual(named);
  });
});
