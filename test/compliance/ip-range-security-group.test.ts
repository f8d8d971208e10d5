/**
 * IpRangeSyncedSecurityGroup against the AWS Control Tower proactive controls (cfn-guard rules), with
 * its compliance props set: a customer key, the sync function in private subnets (with a NAT
 * gateway, which it needs to fetch the documents), an alarm topic.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { claimsWithoutResources, complianceStack, constructFailures, customerKey, NotOurs } from './compliance';
import { IpRangeSource, IpRangeSyncedSecurityGroup } from '../../src';

/** The controls the construct passes with the props above, each with the resource type it checks. */
const CLAIMED: Record<string, string> = {
  'CT.CLOUDWATCH.PR.1': 'AWS::CloudWatch::Alarm', // alarmTopic
  'CT.CLOUDWATCH.PR.2': 'AWS::Logs::LogGroup', // one year
  'CT.CLOUDWATCH.PR.3': 'AWS::Logs::LogGroup', // encryptionKey
  'CT.CLOUDWATCH.PR.4': 'AWS::CloudWatch::Alarm',
  'CT.DYNAMODB.PR.1': 'AWS::DynamoDB::Table',
  'CT.DYNAMODB.PR.2': 'AWS::DynamoDB::Table',
  'CT.EC2.PR.3': 'AWS::EC2::SecurityGroup', // no rule from 0.0.0.0/0 (the synced rules are added at run time)
  'CT.EC2.PR.4': 'AWS::EC2::SecurityGroup',
  'CT.IAM.PR.1': 'AWS::IAM::Policy',
  'CT.IAM.PR.5': 'AWS::IAM::Policy',
  'CT.LAMBDA.PR.2': 'AWS::Lambda::Permission', // EventBridge and SNS invoke with a source ARN
  'CT.LAMBDA.PR.3': 'AWS::Lambda::Function', // handlerVpc
  'CT.SQS.PR.1': 'AWS::SQS::Queue', // the dead-letter queue's redrive allow policy
  'CT.SQS.PR.2': 'AWS::SQS::Queue',
};

const NOT_OURS: NotOurs[] = [
  { prefix: 'CustomVpcRestrictDefaultSGCustomResourceProvider', why: 'aws-cdk-lib\'s singleton handler that empties the test VPC\'s default security group; it takes no VPC' },
  { prefix: 'Vpc', why: 'the test stack\'s VPC: public subnets for its NAT gateway (CT.EC2.PR.11)' },
];

describe('IpRangeSyncedSecurityGroup: AWS Control Tower proactive controls', () => {
  const stack = complianceStack('IpRangeCompliance');
  const key = customerKey(stack);
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  new IpRangeSyncedSecurityGroup(stack, 'Ingress', {
    vpc,
    sources: [IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'] }), IpRangeSource.githubMeta({ services: ['hooks'] })],
    ports: [ec2.Port.tcp(443)],
    encryptionKey: key,
    handlerVpc: vpc,
    handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    alarmTopic: new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true }),
  });
  const template = Template.fromStack(stack).toJSON();
  const failures = constructFailures(template, NOT_OURS);

  test('no failed control on the construct\'s resources (every claimed control passes, none declined)', () => {
    expect(failures).toEqual([]);
  });

  test('each claimed control had resources of its type to check', () => {
    expect(claimsWithoutResources(template, CLAIMED)).toEqual([]);
  });
});
