/**
 * PipesFanOut against the AWS Control Tower proactive controls (cfn-guard rules), with its
 * compliance props set: a customer key, an alarm topic, the circuit breaker's handler in private
 * subnets, and consumers on both channels.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { claimsWithoutResources, complianceStack, constructFailures, customerKey, NotOurs } from './compliance';
import { ConsumerFilter, FanOutChannel, PipeFilter, PipesFanOut, PipeSource, StartingPosition } from '../../src';

/** The controls the construct passes with the props above, each with the resource type it checks. */
const CLAIMED: Record<string, string> = {
  'CT.CLOUDWATCH.PR.1': 'AWS::CloudWatch::Alarm', // alarmTopic
  'CT.CLOUDWATCH.PR.2': 'AWS::Logs::LogGroup', // one year
  'CT.CLOUDWATCH.PR.3': 'AWS::Logs::LogGroup', // encryptionKey
  'CT.CLOUDWATCH.PR.4': 'AWS::CloudWatch::Alarm',
  'CT.IAM.PR.1': 'AWS::IAM::Policy',
  'CT.IAM.PR.5': 'AWS::IAM::Policy',
  'CT.LAMBDA.PR.3': 'AWS::Lambda::Function', // handlerVpc (the circuit breaker)
  'CT.SQS.PR.1': 'AWS::SQS::Queue', // every consumer queue has a DLQ; every DLQ a redrive allow policy
  'CT.SQS.PR.2': 'AWS::SQS::Queue',
};

const NOT_OURS: NotOurs[] = [
  { prefix: 'CustomVpcRestrictDefaultSGCustomResourceProvider', why: 'aws-cdk-lib\'s singleton handler that empties the test VPC\'s default security group' },
  { prefix: 'Vpc', why: 'the test stack\'s VPC: public subnets for its NAT gateway (CT.EC2.PR.11)' },
  { prefix: 'OrdersTable', why: 'the test stack\'s source table (the user\'s)' },
  { prefix: 'InventoryFn', why: 'the user\'s consumer function (outside the VPC in this test)' },
];

describe('PipesFanOut: AWS Control Tower proactive controls', () => {
  const stack = complianceStack('PipesFanOutCompliance');
  const key = customerKey(stack);
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const table = new dynamodb.Table(stack, 'OrdersTable', {
    partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
  });
  const alarmTopic = new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true });
  const inventoryFn = new lambda.Function(stack, 'InventoryFn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] });'),
    timeout: Duration.seconds(30),
  });
  Validations.of(inventoryFn).acknowledge({ id: 'Serverless-LambdaDLQ', reason: 'The test\'s stand-in for the user\'s consumer function.' });
  const sns1 = new PipesFanOut(stack, 'Orders', {
    source: PipeSource.dynamoDbStream(table, { startingPosition: StartingPosition.LATEST }),
    filter: PipeFilter.fromEventPatterns([{ eventName: ['INSERT'] }]),
    encryptionKey: key,
    alarmTopic,
    circuitBreaker: {},
    handlerVpc: vpc,
    handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  });
  sns1.addConsumer('Inventory', { handler: inventoryFn, filter: ConsumerFilter.onBody({ status: ['NEW'] }) });
  sns1.addConsumer('Shipping');
  const bus = new PipesFanOut(stack, 'OrdersBus', {
    source: PipeSource.dynamoDbStream(table, { startingPosition: StartingPosition.LATEST }),
    channel: FanOutChannel.eventBus(),
    encryptionKey: key,
    alarmTopic,
  });
  bus.addConsumer('Billing', { filter: ConsumerFilter.onBody({ total: [{ numeric: ['>', 0] }] }) });
  const template = Template.fromStack(stack).toJSON();
  const failures = constructFailures(template, NOT_OURS);

  test('no failed control on the construct\'s resources (every claimed control passes, none declined)', () => {
    expect(failures).toEqual([]);
  });

  test('each claimed control had resources of its type to check', () => {
    expect(claimsWithoutResources(template, CLAIMED)).toEqual([]);
  });
});
