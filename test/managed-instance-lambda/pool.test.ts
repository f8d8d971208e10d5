/** Template assertions and validation of ManagedCapacityPool. */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ManagedCapacityPool, ManagedCapacityPoolProps } from '../../src/managed-instance-lambda/managed-capacity-pool';
import { ManagedInstanceWarnings } from '../../src/managed-instance-lambda/warnings';
import { expectNoWildcardActions } from '../harness/iam';
import { expectNoUnsuppressedNagErrors } from '../harness/nag';

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e'];

function stackWithVpc(maxAzs = 5): { stack: Stack; vpc: ec2.Vpc } {
  const app = new App({ context: { 'availability-zones:account=123456789012:region=us-east-1': ZONES } });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs, natGateways: 1 });
  vpc.addFlowLog('FlowLog');
  return { stack, vpc };
}

function build(props: Partial<ManagedCapacityPoolProps> = {}, maxAzs = 5) {
  const { stack, vpc } = stackWithVpc(maxAzs);
  const pool = new ManagedCapacityPool(stack, 'Pool', { vpc, ...props });
  return { stack, vpc, pool, template: Template.fromStack(stack) };
}

function providerProps(template: Template): any {
  const [provider] = Object.values<any>(template.findResources('AWS::Lambda::CapacityProvider'));
  return provider.Properties;
}

describe('ManagedCapacityPool defaults', () => {
  const { stack, vpc, pool, template } = build();

  test('arm64 Graviton allow-list, 64 vCPU ceiling, automatic scaling', () => {
    const p = providerProps(template);
    expect(p.InstanceRequirements).toEqual({
      Architectures: ['arm64'],
      AllowedInstanceTypes: ['m7g.large', 'm7g.xlarge', 'm6g.large', 'm6g.xlarge'],
    });
    expect(p.CapacityProviderScalingConfig).toMatchObject({ MaxVCpuCount: 64, ScalingMode: 'Auto' });
    expect(pool.architecture.name).toBe('arm64');
  });

  test('three private subnets, one per zone, in the VPC\'s zone order', () => {
    const p = providerProps(template);
    const privateIds = vpc.privateSubnets.map((s) => stack.resolve(s.subnetId));
    expect(p.VpcConfig.SubnetIds).toEqual(privateIds.slice(0, 3));
    expect(pool.subnets.map((s) => s.availabilityZone)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
  });

  test('a dedicated security group: no inbound rule, egress only to 443', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup', {
      Properties: { GroupDescription: Match.stringLikeRegexp('Lambda Managed Instances') },
    });
    expect(Object.keys(groups)).toHaveLength(1);
    const [id, group] = Object.entries<any>(groups)[0];
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(group.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
    expect(template.findResources('AWS::EC2::SecurityGroupIngress')).toEqual({});
    expect(providerProps(template).VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [id, 'GroupId'] }]);
  });

  test('the operator role (AWS managed operator policy) and a one-year log group', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AWSLambdaManagedEC2ResourceOperator']] }],
    });
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 }, DeletionPolicy: 'Retain' });
  });

  test('a CPU alarm on the provider (AWS/Lambda CPUUtilization, 80% for 15 minutes)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'CPUUtilization',
      Dimensions: [{ Name: 'CapacityProviderName', Value: { Ref: Match.stringLikeRegexp('^Pool') } }],
      Threshold: 80,
      EvaluationPeriods: 3,
      Period: 300,
    });
  });

  test('no wildcard actions; cdk-nag clean', () => {
    expectNoWildcardActions(template);
    expectNoUnsuppressedNagErrors(stack);
  });
});

describe('ManagedCapacityPool choices', () => {
  test('zone exclusions and the subnet cap: one per remaining zone', () => {
    const { pool } = build({ excludeAvailabilityZones: ['us-east-1a', 'us-east-1c'], maxSubnets: 2 });
    expect(pool.subnets.map((s) => s.availabilityZone)).toEqual(['us-east-1b', 'us-east-1d']);
  });

  test('more subnets than zones: a second round of subnets of the same zones', () => {
    const { stack } = stackWithVpc(2);
    const vpc = new ec2.Vpc(stack, 'Vpc2', {
      maxAzs: 2,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'AppA', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'AppB', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
    });
    const pool = new ManagedCapacityPool(stack, 'Pool2', { vpc, maxSubnets: 3 });
    expect(pool.subnets.map((s) => s.availabilityZone)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1a']);
  });

  test('a customer key encrypts the volumes and the log group; tags propagate when asked', () => {
    const { stack, vpc } = stackWithVpc();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new ManagedCapacityPool(stack, 'Pool', {
      vpc, encryptionKey: key, propagateTags: lambda.PropagateTags.explicit({ team: 'ingest' }),
    });
    const t = Template.fromStack(stack);
    const p = providerProps(t);
    expect(JSON.stringify(p.KmsKeyArn)).toMatch(/^\{"Fn::GetAtt":\["Key[0-9A-F]{8}","Arn"\]\}$/);
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    expect(JSON.stringify(p.PropagateTags)).toMatch(/team/);
  });

  test('other egress ports replace 443; given security groups are used as they are', () => {
    const { template } = build({ egressPorts: [ec2.Port.tcp(443), ec2.Port.tcp(5432)] });
    const egress = Object.values<any>(template.findResources('AWS::EC2::SecurityGroup', {
      Properties: { GroupDescription: Match.stringLikeRegexp('Lambda Managed Instances') },
    }))[0].Properties.SecurityGroupEgress;
    expect(egress.map((e: any) => e.FromPort)).toEqual([443, 5432]);

    const { stack, vpc } = stackWithVpc();
    const sg = new ec2.SecurityGroup(stack, 'Mine', { vpc, allowAllOutbound: false });
    const pool = new ManagedCapacityPool(stack, 'Pool', { vpc, securityGroups: [sg] });
    expect(pool.connections.securityGroups).toEqual([sg]);
    expect(stack.resolve(providerProps(Template.fromStack(stack)).VpcConfig.SecurityGroupIds)).toEqual([stack.resolve(sg.securityGroupId)]);
  });

  test('x86_64 pools take x86 instance types', () => {
    const { template } = build({ architecture: lambda.Architecture.X86_64, instanceTypes: [new ec2.InstanceType('c7i.large')] });
    expect(providerProps(template).InstanceRequirements).toEqual({ Architectures: ['x86_64'], AllowedInstanceTypes: ['c7i.large'] });
  });

  test('a single remaining zone warns; a type outside C/M/R warns', () => {
    const { stack } = build({ excludeAvailabilityZones: ['us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e'] });
    Annotations.fromStack(stack).hasWarning('/Test/Pool', Match.stringLikeRegexp('one Availability Zone \\(us-east-1a\\)'));
    const other = build({ instanceTypes: [new ec2.InstanceType('t4g.large')] });
    Annotations.fromStack(other.stack).hasWarning('/Test/Pool', Match.stringLikeRegexp('t4g.large is outside the C, M and R families'));
    expect(ManagedInstanceWarnings.POOL_SINGLE_ZONE).toMatch(/^cdk-production-patterns:/);
  });

  test('fromCapacityProviderArn imports with an architecture and an optional ceiling', () => {
    const stack = new Stack(new App(), 'Imp', { env: { account: '123456789012', region: 'us-east-1' } });
    const arn = 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:shared';
    const pool = ManagedCapacityPool.fromCapacityProviderArn(stack, 'Shared', arn, { maxVCpu: 32 });
    expect(pool.capacityProvider.capacityProviderArn).toBe(arn);
    expect(pool.capacityProvider.capacityProviderName).toBe('shared');
    expect(pool.architecture.name).toBe('arm64');
    expect(pool.maxVCpu).toBe(32);
    expect(() => ManagedCapacityPool.fromCapacityProviderArn(stack, 'Bad', 'arn:aws:lambda:us-east-1:123456789012:function:x'))
      .toThrow(/Imp\/Bad: invalid prop 'capacityProviderArn': must be arn:<partition>:lambda:<region>:<account>:capacity-provider:<name>/);
  });
});

describe('ManagedCapacityPool validation', () => {
  test.each([
    [{ maxVCpu: 8 }, /invalid prop 'maxVCpu': must be an integer in 12..15000, got 8/],
    [{ maxVCpu: 15001 }, /'maxVCpu': must be an integer in 12..15000, got 15001/],
    [{ maxSubnets: 0 }, /'maxSubnets': must be an integer in 1..16, got 0/],
    [{ maxSubnets: 17 }, /'maxSubnets': must be an integer in 1..16, got 17/],
    [{ cpuAlarmThreshold: 0 }, /'cpuAlarmThreshold': must be in 1..100, got 0/],
    [{ instanceTypes: [] }, /'instanceTypes': must hold 1..400 instance types, got 0/],
    [{ instanceTypes: [new ec2.InstanceType('m7i.large')] }, /'instanceTypes': m7i.large is an x86_64 type but the pool's architecture is arm64/],
    [{ architecture: lambda.Architecture.X86_64 }, /'instanceTypes': m7g.large is a Graviton \(arm64\) type but the pool's architecture is x86_64/],
    [{ excludeAvailabilityZones: ['eu-west-1a'] }, /'excludeAvailabilityZones': names eu-west-1a, which no selected subnet is in/],
    [{ excludeAvailabilityZones: ZONES }, /'excludeAvailabilityZones': excludes every zone of the selected subnets/],
    [{ vpcSubnets: { subnetFilters: [ec2.SubnetFilter.byIds(['subnet-not-in-this-vpc'])] } }, /Test\/Pool: invalid prop 'vpcSubnets': selects no subnet of the VPC/],
  ])('%p is refused', (props, message) => {
    expect(() => build(props as Partial<ManagedCapacityPoolProps>)).toThrow(message);
  });

  test('six security groups are refused (1..5)', () => {
    const { stack, vpc } = stackWithVpc();
    const groups = [0, 1, 2, 3, 4, 5].map((i) => new ec2.SecurityGroup(stack, `G${i}`, { vpc }));
    expect(() => new ManagedCapacityPool(stack, 'Pool', { vpc, securityGroups: groups }))
      .toThrow(/Test\/Pool: invalid prop 'securityGroups': must hold 1..5 security groups/);
  });

  test('an alarm topic receives the CPU alarm', () => {
    const { stack, vpc } = stackWithVpc();
    const topic = new sns.Topic(stack, 'Alarms');
    new ManagedCapacityPool(stack, 'Pool', { vpc, alarmTopic: topic });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }] });
  });
});
