/**
 * ManagedCapacityPool and ManagedInstanceLambda against the AWS Control Tower proactive controls
 * (cfn-guard rules), with their compliance props set: a customer key, an alarm topic, the warmer on.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { claimsWithoutResources, complianceStack, constructFailures, customerKey, NotOurs } from './compliance';
import { ManagedCapacityPool, ManagedInstanceLambda, VersionPruner } from '../../src';
import { checkControlTower } from '../harness/control-tower';

/** The controls the constructs pass with the props above, each with the resource type it checks. */
const CLAIMED: Record<string, string> = {
  'CT.CLOUDWATCH.PR.1': 'AWS::CloudWatch::Alarm', // alarmTopic
  'CT.CLOUDWATCH.PR.2': 'AWS::Logs::LogGroup', // one year
  'CT.CLOUDWATCH.PR.3': 'AWS::Logs::LogGroup', // encryptionKey
  'CT.CLOUDWATCH.PR.4': 'AWS::CloudWatch::Alarm',
  'CT.IAM.PR.1': 'AWS::IAM::Policy',
  'CT.IAM.PR.5': 'AWS::IAM::Policy',
  'CT.SQS.PR.1': 'AWS::SQS::Queue', // the warmer's and the pruner's dead-letter queues carry a redrive allow policy
  'CT.SQS.PR.2': 'AWS::SQS::Queue',
};

const NOT_OURS: NotOurs[] = [
  { prefix: 'CustomVpcRestrictDefaultSGCustomResourceProvider', why: 'aws-cdk-lib\'s singleton handler that empties the test VPC\'s default security group' },
  { prefix: 'Vpc', why: 'the test stack\'s VPC: public subnets for its NAT gateway (CT.EC2.PR.11)' },
];

/**
 * Controls the Managed Instances function cannot pass by construction, with the reason (README, "Compliance").
 * CT.LAMBDA.PR.3 asks for VpcConfig on every function: a Managed Instances function takes none (it runs in its
 * capacity provider's subnets, which are in the VPC), so the control's check does not apply to it.
 */
const DECLINED: Record<string, string> = {
  'CT.LAMBDA.PR.3': 'RouterFunction',
};

describe('ManagedInstanceLambda: AWS Control Tower proactive controls', () => {
  const stack = complianceStack('ManagedInstancesCompliance');
  const key = customerKey(stack);
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 3, natGateways: 1 });
  const alarmTopic = new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true });
  const pool = new ManagedCapacityPool(stack, 'Pool', { vpc, encryptionKey: key, alarmTopic });
  VersionPruner.of(stack, { alarmTopic, encryptionKey: key, handlerVpc: vpc });
  const router = new ManagedInstanceLambda(stack, 'Router', {
    pool,
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ ok: true });'),
    timeout: Duration.seconds(30),
    encryptionKey: key,
    alarmTopic,
    warmer: {},
  });
  Validations.of(router.lambdaFunction).acknowledge({ id: 'Serverless-LambdaDLQ', reason: 'The test\'s stand-in for a user function.' });
  const template = Template.fromStack(stack).toJSON();
  const failures = constructFailures(template, NOT_OURS);

  test('no failed control on the constructs\' resources besides the declined ones', () => {
    const unexpected = failures
      .map((f) => ({ ...f, resources: f.resources.filter((r) => !(DECLINED[f.control] && r.startsWith(DECLINED[f.control]))) }))
      .filter((f) => f.resources.length > 0);
    expect(unexpected).toEqual([]);
  });

  test('the declined controls fail only on the function, and still do (no stale reason)', () => {
    for (const [control, prefix] of Object.entries(DECLINED)) {
      const failure = checkControlTower(template).failures.find((f) => f.control === control);
      expect(failure?.resources.filter((r) => r.startsWith(prefix)).length).toBeGreaterThan(0);
    }
  });

  test('each claimed control had resources of its type to check', () => {
    expect(claimsWithoutResources(template, CLAIMED)).toEqual([]);
  });
});
