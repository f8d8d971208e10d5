import { App, Duration, Stack, Tags } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IpRangeSource, IpRangeSyncedSecurityGroup, IpRangeSyncedSecurityGroupProps, SyncTarget, WafScope } from '../../src';
import { parseSyncConfig } from '../../src/ip-range-security-group/runtime/config';
import { expectNoWildcardActions, findWildcardActions } from '../harness/iam';
import { expectNoUnsuppressedNagErrors } from '../harness/nag';
import { fakeIntrinsic } from '../harness/sfn-local';

function newStack(region = 'eu-west-1'): { stack: Stack; vpc: ec2.Vpc } {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, restrictDefaultSecurityGroup: false });
  vpc.addFlowLog('FlowLog');
  return { stack, vpc };
}

const ec2UsEast1 = () => IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'] });

function statements(template: Template): any[] {
  return Object.values<any>(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('IpRangeSyncedSecurityGroup: security-group target', () => {
  const { stack, vpc } = newStack();
  const ingress = new IpRangeSyncedSecurityGroup(stack, 'Ingress', {
    vpc, sources: [ec2UsEast1()], ports: [ec2.Port.tcp(443)],
  });
  const template = Template.fromStack(stack);

  test('creates maxGroups (default 4) ingress-only groups', () => {
    expect(ingress.securityGroups).toHaveLength(4);
    template.resourcePropertiesCountIs('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('Ingress synced from aws:EC2') }, 4);
  });

  test('the handler gets its configuration, on arm64 Node.js 24, with a DLQ and tracing', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          SYNC_ID: ingress.syncId,
          SYNC_MAX_REMOVE_PERCENT: '50',
          SYNC_DRY_RUN: 'false',
          SYNC_SOURCES: Match.stringLikeRegexp('"kind":"aws".*"services":\\["EC2"\\]'),
        }),
      },
    });
  });

  test('mutating EC2 actions are scoped to exactly the created groups; no wildcard actions', () => {
    const mutate = statements(template).find((s) => [].concat(s.Action).includes('ec2:AuthorizeSecurityGroupIngress' as never));
    expect(mutate.Action).toEqual(['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress']);
    expect(mutate.Resource).toHaveLength(4);
    expect(JSON.stringify(mutate.Resource)).toContain(':security-group/');
    const describe = statements(template).find((s) => s.Action === 'ec2:DescribeSecurityGroupRules');
    expect(describe.Resource).toBe('*');
    expectNoWildcardActions(template);
  });

  test('subscribes to AmazonIpSpaceChanged in us-east-1 from a stack in another region', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged',
      Region: 'us-east-1',
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'sns.amazonaws.com',
      SourceArn: 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged',
    });
  });

  test('hourly schedule with DLQ and retries; initial sync custom resource after the policy', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 } })],
    });
    template.hasResource('Custom::IpRangeSync', {
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('IngressSyncServiceRoleDefaultPolicy')]),
      // The whole configuration: any change re-runs the sync during the deployment.
      Properties: Match.objectLike({
        Sources: [Match.objectLike({ kind: 'aws', services: ['EC2'], regions: ['us-east-1'] })],
        Target: Match.objectLike({ kind: 'securityGroups', rulesPerGroup: 60, groupIds: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('IngressGroup1'), 'GroupId'] }]) }),
        MaxRemovePercent: 50,
        DryRun: false,
      }),
    });
  });

  test('one sync at a time (reserved concurrency 1); may read only its own stack status', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1, Environment: Match.objectLike({ Variables: Match.objectLike({ SYNC_ID: ingress.syncId }) }) });
    const st = statements(template).find((x) => x.Action === 'cloudformation:DescribeStacks');
    expect(st.Resource).toEqual({ Ref: 'AWS::StackId' });
  });

  test('state table: PITR, TTL, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      }),
    });
  });

  test('alarms: failure, handler errors, guard refusal, capacity, staleness, dead letters', () => {
    expect(ingress.alarms).toHaveLength(6);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'SyncFailure', Namespace: 'CdkProductionPatterns/IpRangeSync' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SuccessfulSync',
      Namespace: 'CdkProductionPatterns/IpRangeSync',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Period: 21600,
      Dimensions: Match.arrayWith([{ Name: 'SyncId', Value: ingress.syncId }]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'GuardRefusal' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CapacityExceeded' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda' });
  });

  test('the synthesized environment is a configuration the handler accepts', () => {
    const fn = Object.values<any>(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.SYNC_ID);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(fn.Properties.Environment.Variables)) env[k] = fakeIntrinsic(v);
    const config = parseSyncConfig(env);
    expect(config.sources).toEqual([expect.objectContaining({ kind: 'aws', url: 'https://ip-ranges.amazonaws.com/ip-ranges.json', services: ['EC2'], regions: ['us-east-1'] })]);
    expect(config.target).toEqual(expect.objectContaining({ kind: 'securityGroups', rulesPerGroup: 60, ports: [{ protocol: 'tcp', fromPort: 443, toPort: 443 }] }));
    expect((config.target as any).groupIds).toHaveLength(4);
    expect(config.auditTtlDays).toBe(90);
  });

  test('cdk-nag clean', () => {
    expectNoUnsuppressedNagErrors(stack);
  });

  test('attachTo adds every group to a load balancer', () => {
    const s = newStack();
    const i = new IpRangeSyncedSecurityGroup(s.stack, 'I', { vpc: s.vpc, sources: [ec2UsEast1()], ports: [ec2.Port.tcp(443)], target: SyncTarget.securityGroups({ maxGroups: 2 }) });
    const alb = new elbv2.ApplicationLoadBalancer(s.stack, 'Alb', { vpc: s.vpc });
    i.attachTo(alb);
    const t = Template.fromStack(s.stack);
    const lb = Object.values<any>(t.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0];
    expect(lb.Properties.SecurityGroups).toHaveLength(3);
  });

  test('metric methods carry the handler dimensions', () => {
    const m = ingress.metricAdded({ period: Duration.minutes(5) });
    expect(m.namespace).toBe('CdkProductionPatterns/IpRangeSync');
    expect(m.dimensions).toEqual({ service: 'ip-range-sync', SyncId: ingress.syncId });
    expect(m.period.toSeconds()).toBe(300);
  });
});

describe('IpRangeSyncedSecurityGroup: prefix-list and WAF targets', () => {
  test('prefix lists per family, referenced by one group per port, IAM scoped to the lists', () => {
    const { stack, vpc } = newStack();
    const i = new IpRangeSyncedSecurityGroup(stack, 'Hooks', {
      vpc,
      sources: [IpRangeSource.githubMeta({ services: ['hooks'] })],
      ports: [ec2.Port.tcp(443)],
      target: SyncTarget.prefixList({ maxEntries: 20 }),
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::EC2::PrefixList', 2);
    t.hasResourceProperties('AWS::EC2::PrefixList', { AddressFamily: 'IPv6', MaxEntries: 20 });
    t.resourcePropertiesCountIs('AWS::EC2::SecurityGroupIngress', {
      SourcePrefixListId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^HooksPrefixListIpv'), 'PrefixListId'] }, FromPort: 443, ToPort: 443,
    }, 2);
    const st = statements(t).find((s) => [].concat(s.Action).includes('ec2:ModifyManagedPrefixList' as never));
    expect(st.Resource).toHaveLength(2);
    expect(i.prefixLists).toHaveLength(2);
    expect(t.findResources('AWS::SNS::Subscription')).toEqual({});
    expectNoWildcardActions(t);
    expectNoUnsuppressedNagErrors(stack);
  });

  test('prefix-list and IP-set names, sizes and tags feed the custom resource, so a CloudFormation update of them is re-synced at once', () => {
    const { stack, vpc } = newStack();
    new IpRangeSyncedSecurityGroup(stack, 'Hooks', {
      vpc,
      sources: [IpRangeSource.githubMeta({ services: ['hooks'], ipv6: false })],
      ports: [ec2.Port.tcp(443)],
      target: SyncTarget.prefixList({ maxEntries: 20 }),
    });
    Tags.of(stack).add('team', 'ci');
    const t = Template.fromStack(stack);
    t.hasResourceProperties('Custom::IpRangeSync', {
      TargetResources: [{ name: Match.stringLikeRegexp('Hooks-ipv4'), maxEntries: 20, tags: [{ key: 'team', value: 'ci' }] }],
    });
  });

  test('a customer key encrypts the state table and is granted to the function (no wildcard actions)', () => {
    const { stack, vpc } = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new IpRangeSyncedSecurityGroup(stack, 'K', { vpc, sources: [ec2UsEast1()], ports: [ec2.Port.tcp(443)], encryptionKey: key });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() } });
    const st = statements(t).find((x) => [].concat(x.Action).includes('kms:Decrypt' as never));
    expect(st.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(st.Resource['Fn::GetAtt'][0]).toMatch(/^Key/);
    // Only the test's own key policy (the account root's default kms:*) is a wildcard.
    expect(findWildcardActions(t).map((f) => f.resourceType)).toEqual(['AWS::KMS::Key']);
    expectNoUnsuppressedNagErrors(stack);
  });

  test('a customer key also encrypts the dead-letter queue and the log group, and is granted to their senders', () => {
    const { stack, vpc } = newStack('us-east-1');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const i = new IpRangeSyncedSecurityGroup(stack, 'K', { vpc, sources: [ec2UsEast1()], ports: [ec2.Port.tcp(443)], encryptionKey: key });
    const t = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] };
    const dlq = t.toJSON().Resources[stack.getLogicalId(i.deadLetterQueue.node.defaultChild as any)];
    expect(dlq.Properties.KmsMasterKeyId).toEqual(keyArn);
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: keyArn, RetentionInDays: 365 });
    // EventBridge (rule target DLQ), SNS (subscription DLQ, us-east-1) and CloudWatch Logs use the key.
    const keyPolicy = Object.values<any>(t.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement;
    const services = keyPolicy.flatMap((st: any) => [].concat(st.Principal?.Service ?? []));
    expect(services).toEqual(expect.arrayContaining(['events.amazonaws.com', 'sns.amazonaws.com', 'logs.us-east-1.amazonaws.com']));
    expect(findWildcardActions(t).map((f) => f.resourceType)).toEqual(['AWS::KMS::Key']);
    expectNoUnsuppressedNagErrors(stack);
  });

  test('the dead-letter queue declares itself one (CT.SQS.PR.1); `vpc` alone leaves the sync function outside it', () => {
    const { stack, vpc } = newStack();
    new IpRangeSyncedSecurityGroup(stack, 'I', { vpc, sources: [ec2UsEast1()], ports: [ec2.Port.tcp(443)] });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SQS::Queue', { RedriveAllowPolicy: { redrivePermission: 'allowAll' } });
    // `vpc` is the security groups' VPC: existing stacks keep their function where it was
    expect(Object.values<any>(t.findResources('AWS::Lambda::Function'))[0].Properties.VpcConfig).toBeUndefined();
  });

  test('handlerVpc / handlerVpcSubnets / handlerSecurityGroups put the sync function in your subnets (CT.LAMBDA.PR.3)', () => {
    const { stack, vpc } = newStack();
    const egress = new ec2.SecurityGroup(stack, 'SyncEgress', { vpc, description: 'HTTPS out' });
    new IpRangeSyncedSecurityGroup(stack, 'I', {
      vpc,
      sources: [ec2UsEast1()],
      ports: [ec2.Port.tcp(443)],
      handlerVpc: vpc,
      handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      handlerSecurityGroups: [egress],
    });
    const t = Template.fromStack(stack);
    const ref = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as any);
    t.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: vpc.isolatedSubnets.map((sn) => ({ Ref: ref(sn) })), SecurityGroupIds: [{ 'Fn::GetAtt': [ref(egress), 'GroupId'] }] },
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: Match.arrayWith([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']] }]),
    });
    expectNoUnsuppressedNagErrors(stack);
  });

  test('a prefix list too large for the group quota is a synth error naming the numbers', () => {
    const { stack, vpc } = newStack();
    expect(() => new IpRangeSyncedSecurityGroup(stack, 'Big', {
      vpc, sources: [ec2UsEast1()], ports: [ec2.Port.tcp(443)], target: SyncTarget.prefixList({ maxEntries: 232 }),
    })).toThrow(/Test\/Big: invalid prop 'target.maxEntries': .*232 entries x 1 port\(s\) = 232 rules, but the group allows 60/);
  });

  test('WAF IP sets per family with stable names, IAM scoped to them; no VPC needed', () => {
    const { stack } = newStack();
    const i = new IpRangeSyncedSecurityGroup(stack, 'Actions', {
      sources: [IpRangeSource.githubMeta({ services: ['actions'] })],
      target: SyncTarget.wafIpSet(),
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::WAFv2::IPSet', 2);
    t.hasResourceProperties('AWS::WAFv2::IPSet', { Scope: 'REGIONAL', IPAddressVersion: 'IPV4', Name: Match.stringLikeRegexp('-ipv4$') });
    const st = statements(t).find((s) => [].concat(s.Action).includes('wafv2:UpdateIPSet' as never));
    expect(st.Action).toEqual(['wafv2:GetIPSet', 'wafv2:UpdateIPSet']);
    expect(i.securityGroups).toHaveLength(0);
    expect(() => i.attachTo(i)).toThrow(/WAF IP set target has no security group/);
    expectNoUnsuppressedNagErrors(stack);
  });

  test('CLOUDFRONT IP sets outside us-east-1 are a synth error', () => {
    const { stack } = newStack('eu-west-1');
    expect(() => new IpRangeSyncedSecurityGroup(stack, 'Cf', {
      sources: [IpRangeSource.githubMeta({ services: ['hooks'] })], target: SyncTarget.wafIpSet({ scope: WafScope.CLOUDFRONT }),
    })).toThrow(/'target.scope': CLOUDFRONT IP sets must be created in us-east-1/);
  });
});

describe('IpRangeSyncedSecurityGroup: validation and warnings', () => {
  const base = (): IpRangeSyncedSecurityGroupProps => ({ sources: [ec2UsEast1()], ports: [ec2.Port.tcp(443)] });

  test.each<[string, (vpc: ec2.IVpc) => IpRangeSyncedSecurityGroupProps, RegExp]>([
    ['no sources', (vpc) => ({ ...base(), vpc, sources: [] }), /'sources': must contain at least one/],
    ['rulesPerGroup 0', (vpc) => ({ ...base(), vpc, target: SyncTarget.securityGroups({ rulesPerGroup: 0 }) }), /'target.rulesPerGroup': must be an integer in 1..1000, got 0/],
    ['maxGroups 17', (vpc) => ({ ...base(), vpc, target: SyncTarget.securityGroups({ maxGroups: 17 }) }), /'target.maxGroups': must be an integer in 1..16, got 17/],
    ['rules x groups > 1000', (vpc) => ({ ...base(), vpc, target: SyncTarget.securityGroups({ rulesPerGroup: 200, maxGroups: 6 }) }), /200 x 6 = 1200/],
    ['no ports', (vpc) => ({ ...base(), vpc, ports: [] }), /'ports': must list at least one port/],
    ['no vpc', () => base(), /'vpc': is required by the securityGroups target/],
    ['maxRemovePercent 101', (vpc) => ({ ...base(), vpc, maxRemovePercent: 101 }), /'maxRemovePercent': must be in 0..100, got 101/],
    ['handler subnets without handlerVpc', (vpc) => ({ ...base(), vpc, handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } }),
      /Test\/X: invalid prop 'handlerVpc': is required when handlerVpcSubnets is given/],
    ['both families off', (vpc) => ({ ...base(), vpc, sources: [IpRangeSource.githubMeta({ services: ['hooks'], ipv4: false, ipv6: false })] }), /at least one address family/],
    ['http URL', (vpc) => ({ ...base(), vpc, sources: [IpRangeSource.url('http://example.com/ranges.json')] }), /must be an https URL/],
    ['empty services', (vpc) => ({ ...base(), vpc, sources: [IpRangeSource.awsIpRanges({ services: [] })] }), /services': must list at least one service/],
  ])('%s', (_name, props, message) => {
    const { stack, vpc } = newStack();
    expect(() => new IpRangeSyncedSecurityGroup(stack, 'X', props(vpc))).toThrow(message);
  });

  test('warns to use the AWS-managed prefix list for CloudFront', () => {
    const { stack, vpc } = newStack();
    new IpRangeSyncedSecurityGroup(stack, 'Cf', { ...base(), vpc, sources: [IpRangeSource.awsIpRanges({ services: ['CLOUDFRONT'] })] });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('com.amazonaws.global.cloudfront.origin-facing'));
    expect(warnings).toHaveLength(1);
  });

  test('warns that GitHub actions does not fit security groups', () => {
    const { stack, vpc } = newStack();
    new IpRangeSyncedSecurityGroup(stack, 'Gh', { ...base(), vpc, sources: [IpRangeSource.githubMeta({ services: ['actions'] })] });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('SyncTarget.wafIpSet'))).toHaveLength(1);
  });

  test('a custom schedule and a longer staleness window', () => {
    const { stack, vpc } = newStack();
    new IpRangeSyncedSecurityGroup(stack, 'S', {
      ...base(), vpc, schedule: events.Schedule.rate(Duration.minutes(15)), stalenessWindow: Duration.days(2), initialSync: false,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'SuccessfulSync', Period: 86400, EvaluationPeriods: 2 });
    t.resourceCountIs('Custom::IpRangeSync', 0);
  });
});
