/**
 * VersionPruner against the AWS Control Tower proactive controls (cfn-guard rules), with its
 * compliance props set: a customer key, an alarm topic, the handler in private subnets, and a
 * function on a capacity provider (a headroom alarm) and an ordinary one as targets.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { claimsWithoutResources, complianceStack, constructFailures, customerKey, NotOurs } from './compliance';
import { VersionPruner } from '../../src/managed-instance-lambda/version-pruner';

/** The controls the pruner passes with the props above, each with the resource type it checks. */
const CLAIMED: Record<string, string> = {
  'CT.CLOUDWATCH.PR.1': 'AWS::CloudWatch::Alarm', // alarmTopic
  'CT.CLOUDWATCH.PR.2': 'AWS::Logs::LogGroup', // one year
  'CT.CLOUDWATCH.PR.3': 'AWS::Logs::LogGroup', // encryptionKey
  'CT.CLOUDWATCH.PR.4': 'AWS::CloudWatch::Alarm',
  'CT.IAM.PR.1': 'AWS::IAM::Policy',
  'CT.IAM.PR.5': 'AWS::IAM::Policy',
  'CT.LAMBDA.PR.3': 'AWS::Lambda::Function', // handlerVpc
  'CT.SQS.PR.1': 'AWS::SQS::Queue', // the dead-letter queue has a redrive allow policy
  'CT.SQS.PR.2': 'AWS::SQS::Queue', // encrypted with the key
};

const NOT_OURS: NotOurs[] = [
  { prefix: 'CustomVpcRestrictDefaultSGCustomResourceProvider', why: 'aws-cdk-lib\'s singleton handler that empties the test VPC\'s default security group' },
  { prefix: 'Vpc', why: 'the test stack\'s VPC: public subnets for its NAT gateway (CT.EC2.PR.11)' },
  { prefix: 'Router', why: 'the user\'s function the pruner prunes (outside the VPC in this test)' },
];

describe('VersionPruner: AWS Control Tower proactive controls', () => {
  const stack = complianceStack('VersionPrunerCompliance');
  const key = customerKey(stack);
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const alarmTopic = new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true });
  const router = new lambda.Function(stack, 'Router', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => 1;'),
    timeout: Duration.seconds(30),
  });
  Validations.of(router).acknowledge({ id: 'Serverless-LambdaDLQ', reason: 'The test\'s stand-in for the user\'s function.' });
  const pool = lambda.CapacityProvider.fromCapacityProviderArn(stack, 'Pool', 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:pool');
  const pruner = VersionPruner.of(stack, {
    encryptionKey: key,
    alarmTopic,
    handlerVpc: vpc,
    handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  });
  pruner.addFunction(router, { capacityProvider: pool, version: router.currentVersion });
  pruner.addFunction(lambda.Function.fromFunctionName(stack, 'Legacy', 'legacy'));

  const template = Template.fromStack(stack).toJSON();
  const failures = constructFailures(template, NOT_OURS);

  test('no failed control on the pruner\'s resources (every claimed control passes, none declined)', () => {
    expect(failures).toEqual([]);
  });

  test('each claimed control had resources of its type to check', () => {
    expect(claimsWithoutResources(template, CLAIMED)).toEqual([]);
  });
});
