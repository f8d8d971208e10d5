import { App, Aspects, CfnDeletionPolicy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BucketTakeoverGuard, PersistentBucket } from '../../src';

function stackWithGuard(failOnRisk = false): Stack {
  const app = new App();
  const stack = new Stack(app, 'Guarded');
  Aspects.of(app).add(new BucketTakeoverGuard({ failOnRisk }));
  return stack;
}

const warningsOf = (stack: Stack) =>
  Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('bucket takeover|S3 bucket takeover'));

describe('BucketTakeoverGuard', () => {
  test('warns on an explicitly named bucket with DESTROY, at the L2 bucket', () => {
    const stack = stackWithGuard();
    new s3.Bucket(stack, 'Named', { bucketName: 'acme-named', removalPolicy: RemovalPolicy.DESTROY });
    const warnings = warningsOf(stack);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].id).toBe('/Guarded/Named');
    expect(String(warnings[0].entry.data)).toContain("explicit name 'acme-named' and has removal policy DESTROY");
  });

  test('warns on a named bucket with autoDeleteObjects', () => {
    const stack = stackWithGuard();
    new s3.Bucket(stack, 'Auto', { bucketName: 'acme-auto', removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true });
    expect(warningsOf(stack).map((w) => w.id)).toEqual(['/Guarded/Auto']);
  });

  test('warns on an L1 bucket with a name and no deletion policy (CloudFormation deletes by default)', () => {
    const stack = stackWithGuard();
    new s3.CfnBucket(stack, 'Raw', { bucketName: 'acme-raw' });
    const warnings = warningsOf(stack);
    expect(warnings.map((w) => w.id)).toEqual(['/Guarded/Raw']);
    expect(String(warnings[0].entry.data)).toContain('no DeletionPolicy');
  });

  test('is silent for retained named buckets, unnamed buckets, and PersistentBuckets', () => {
    const stack = stackWithGuard();
    new s3.Bucket(stack, 'Retained', { bucketName: 'acme-retained' });
    new s3.Bucket(stack, 'Unnamed', { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true });
    new PersistentBucket(stack, 'Persistent', { bucketName: 'acme-persistent' });
    const raw = new s3.CfnBucket(stack, 'RawRetained', { bucketName: 'acme-raw-retained' });
    raw.cfnOptions.deletionPolicy = CfnDeletionPolicy.RETAIN;
    expect(warningsOf(stack)).toHaveLength(0);
  });

  test('failOnRisk turns the finding into an error', () => {
    const stack = stackWithGuard(true);
    new s3.Bucket(stack, 'Named', { bucketName: 'acme-named', removalPolicy: RemovalPolicy.DESTROY });
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('cdk-production-patterns:bucketTakeover'));
    expect(errors.map((e) => e.id)).toEqual(['/Guarded/Named']);
  });
});
