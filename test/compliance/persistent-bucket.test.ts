/**
 * PersistentBucket against the AWS Control Tower proactive controls (cfn-guard rules), with its
 * compliance props set: a customer key, the marker function in private subnets, a server access log
 * bucket, object lock.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { claimsWithoutResources, complianceStack, constructFailures, customerKey, NotOurs } from './compliance';
import { PersistentBucket } from '../../src';

/** The controls the bucket passes with the props above, each with the resource type it checks. */
const CLAIMED: Record<string, string> = {
  'CT.CLOUDWATCH.PR.2': 'AWS::Logs::LogGroup', // the marker function's logs: one year
  'CT.CLOUDWATCH.PR.3': 'AWS::Logs::LogGroup', // encrypted with the bucket's key
  'CT.IAM.PR.1': 'AWS::IAM::Policy',
  'CT.IAM.PR.5': 'AWS::IAM::Policy',
  'CT.KMS.PR.1': 'AWS::KMS::Key', // the key S3 creates for encryption: KMS
  'CT.KMS.PR.3': 'AWS::KMS::Key', // ... limits grants to AWS services
  'CT.LAMBDA.PR.3': 'AWS::Lambda::Function', // handlerVpc
  'CT.S3.PR.1': 'AWS::S3::Bucket',
  'CT.S3.PR.2': 'AWS::S3::Bucket', // serverAccessLogsBucket
  'CT.S3.PR.3': 'AWS::S3::Bucket', // versioned, with the default abort-incomplete-uploads rule
  'CT.S3.PR.5': 'AWS::S3::Bucket',
  'CT.S3.PR.6': 'AWS::S3::Bucket',
  'CT.S3.PR.8': 'AWS::S3::BucketPolicy',
  'CT.S3.PR.9': 'AWS::S3::Bucket', // objectLockEnabled
  'CT.S3.PR.10': 'AWS::S3::Bucket', // encryptionKey / encryption: KMS
  'CT.S3.PR.11': 'AWS::S3::Bucket',
  'CT.SQS.PR.1': 'AWS::SQS::Queue', // the marker function's dead-letter queue
  'CT.SQS.PR.2': 'AWS::SQS::Queue',
};

/** Declined, with the reason in the README's Compliance section. */
const DECLINED = [
  'CT.S3.PR.4', // event notifications: `eventBridgeEnabled` adds aws-cdk-lib's notifications handler, outside any VPC
];

const NOT_OURS: NotOurs[] = [
  { prefix: 'CustomVpcRestrictDefaultSGCustomResourceProvider', why: 'aws-cdk-lib\'s singleton handler that empties the test VPC\'s default security group; it takes no VPC' },
  { prefix: 'Vpc', why: 'the test stack\'s VPC: public subnets for its NAT gateway (CT.EC2.PR.11)' },
  { prefix: 'AccessLogs', why: 'the test stack\'s access-log bucket (a log destination declines logging, object lock, notifications)' },
];

describe('PersistentBucket: AWS Control Tower proactive controls', () => {
  const stack = complianceStack('PersistentBucketCompliance');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const accessLogs = new s3.Bucket(stack, 'AccessLogs', { enforceSSL: true });
  // One bucket with the customer key S3 creates, one with a key of the stack's: both keys are checked.
  new PersistentBucket(stack, 'Artifacts', {
    encryption: s3.BucketEncryption.KMS,
    serverAccessLogsBucket: accessLogs,
    objectLockEnabled: true,
    handlerVpc: vpc,
  });
  new PersistentBucket(stack, 'Releases', {
    encryptionKey: customerKey(stack),
    serverAccessLogsBucket: accessLogs,
    objectLockEnabled: true,
  });
  const template = Template.fromStack(stack).toJSON();
  const failures = constructFailures(template, NOT_OURS);

  test('every claimed control passes on the buckets\' resources', () => {
    expect(failures.filter((f) => f.control in CLAIMED)).toEqual([]);
  });

  test('the only other failure is the declined control, on the buckets', () => {
    const others = failures.filter((f) => !(f.control in CLAIMED));
    expect(others.map((f) => f.control).sort()).toEqual(DECLINED);
    for (const f of others) expect(f.resources.every((r) => /^(Artifacts|Releases)/.test(r))).toBe(true);
  });

  test('each claimed control had resources of its type to check', () => {
    expect(claimsWithoutResources(template, CLAIMED)).toEqual([]);
  });
});
