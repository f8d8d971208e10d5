import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PersistentBucket } from '../../src';
import { expectNoWildcardActions } from '../harness/iam';
import { expectNoUnsuppressedNagErrors, runNag } from '../harness/nag';

function newStack(): Stack {
  return new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
}

describe('PersistentBucket', () => {
  let stack: Stack;
  let template: Template;
  let bucket: PersistentBucket;
  beforeAll(() => {
    stack = newStack();
    bucket = new PersistentBucket(stack, 'Artifacts', { bucketName: 'acme-artifacts' });
    template = Template.fromStack(stack);
  });

  test('is retained on delete and on replacement', () => {
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('bucket policy denies s3:DeleteBucket to every principal, and non-TLS requests', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Sid: 'DenyDeleteBucketPersistent',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:DeleteBucket',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Artifacts'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  test('is tagged persistent=true, versioned, encrypted, and blocks public access', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'acme-artifacts',
      Tags: Match.arrayWith([{ Key: 'persistent', Value: 'true' }]),
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      },
    });
  });

  test('writes the marker object through a retained custom resource, after the bucket policy', () => {
    template.hasResource('Custom::PersistentBucketMarker', {
      DeletionPolicy: 'Retain',
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('^ArtifactsPolicy')]),
      Properties: {
        BucketName: { Ref: Match.stringLikeRegexp('^Artifacts') },
        Key: 'DO_NOT_DELETE_S3_BUCKET_PERSISTENT',
        ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdkProductionPatternsPersistentBucketMarker'), 'Arn'] },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
    });
    expect(bucket.markerResource).toBeDefined();
  });

  test('the marker function may only put the marker key', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values<any>(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const put = statements.find((s) => [].concat(s.Action).some((a: string) => a.startsWith('s3:PutObject')));
    expect(JSON.stringify(put.Resource)).toContain('/DO_NOT_DELETE_S3_BUCKET_PERSISTENT');
    expectNoWildcardActions(template);
  });

  test('cdk-nag: only the access-log choice is left to the user', () => {
    const errors = runNag(stack).filter((f) => f.severity === 'error').map((f) => f.rule);
    expect(errors).toEqual(['AwsSolutions-S1']);
  });

  test('cdk-nag: clean with an access-log bucket', () => {
    const s = newStack();
    const logs = new PersistentBucket(s, 'Logs');
    Validations.of(logs).acknowledge({ id: 'AwsSolutions-S1', reason: 'access-log destination' });
    new PersistentBucket(s, 'Data', { serverAccessLogsBucket: logs });
    expectNoUnsuppressedNagErrors(s);
  });

  test('logical IDs of the stateful resources are pinned (a change would replace the bucket)', () => {
    const ids = Object.keys(template.toJSON().Resources);
    expect(ids).toEqual(expect.arrayContaining([
      'Artifacts82DD59A1',
      'ArtifactsPolicy6E9058CC',
      'ArtifactsMarkerObjectB58A35AC',
      'CdkProductionPatternsPersistentBucketMarkerLogsDC9BF7D0',
      'CdkProductionPatternsPersistentBucketMarkerDlqE20BD0C0',
    ]));
  });

  test('one marker function per stack, shared by every PersistentBucket', () => {
    const s = newStack();
    new PersistentBucket(s, 'A');
    new PersistentBucket(s, 'B');
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::Lambda::Function', 1);
    t.resourceCountIs('Custom::PersistentBucketMarker', 2);
  });

  test('markerObject: false creates no function or custom resource', () => {
    const s = newStack();
    const b = new PersistentBucket(s, 'A', { markerObject: false });
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::Lambda::Function', 0);
    t.resourceCountIs('Custom::PersistentBucketMarker', 0);
    expect(b.markerResource).toBeUndefined();
  });

  test('a customer KMS key is used and granted to the marker writer', () => {
    const s = newStack();
    const key = new kms.Key(s, 'Key', { enableKeyRotation: true });
    new PersistentBucket(s, 'A', { encryptionKey: key });
    const t = Template.fromStack(s);
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] },
    });
    const statements = Object.values<any>(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.some((st) => [].concat(st.Action).includes('kms:GenerateDataKey' as never))).toBe(true);
  });

  describe('synth errors for anything that would give the bucket up', () => {
    test.each<[string, Partial<s3.BucketProps>, RegExp]>([
      ['removalPolicy DESTROY', { removalPolicy: RemovalPolicy.DESTROY }, /Test\/X: invalid prop 'removalPolicy': .*RETAIN, got destroy/],
      ['removalPolicy SNAPSHOT', { removalPolicy: RemovalPolicy.SNAPSHOT }, /'removalPolicy'/],
      ['autoDeleteObjects', { autoDeleteObjects: true }, /invalid prop 'autoDeleteObjects'/],
      ['publicReadAccess', { publicReadAccess: true }, /invalid prop 'publicReadAccess'/],
      ['enforceSSL false', { enforceSSL: false }, /invalid prop 'enforceSSL'/],
      ['partial public access block', { blockPublicAccess: s3.BlockPublicAccess.BLOCK_ACLS_ONLY }, /invalid prop 'blockPublicAccess'/],
      ['TLS below 1.2', { minimumTLSVersion: 1.1 }, /invalid prop 'minimumTLSVersion': must be at least 1.2, got 1.1/],
    ])('%s', (_name, props, message) => {
      expect(() => new PersistentBucket(newStack(), 'X', props)).toThrow(message);
    });

    test('RETAIN explicitly is accepted', () => {
      expect(() => new PersistentBucket(newStack(), 'X', { removalPolicy: RemovalPolicy.RETAIN })).not.toThrow();
    });
  });
});
