import { App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
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

  // ---- AWS Control Tower proactive controls

  const logicalId = (st: Stack, c: { node: { defaultChild?: unknown } }) => st.getLogicalId(c.node.defaultChild as any);

  test('a lifecycle rule that deletes nothing by default: incomplete multipart uploads aborted after 7 days (CT.S3.PR.3/PR.6)', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: { Rules: [{ Id: 'AbortIncompleteMultipartUploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }] },
    });
  });

  test('lifecycleRules given replace the default', () => {
    const s = newStack();
    new PersistentBucket(s, 'A', { lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90) }] });
    const rules = Object.values<any>(Template.fromStack(s).findResources('AWS::S3::Bucket'))[0].Properties.LifecycleConfiguration.Rules;
    expect(rules).toEqual([{ NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' }]);
  });

  test('the marker function\'s dead-letter queue declares itself one (CT.SQS.PR.1); no key: nothing encrypted with one', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { RedriveAllowPolicy: { redrivePermission: 'allowAll' }, SqsManagedSseEnabled: true });
    expect(template.toJSON().Resources.CdkProductionPatternsPersistentBucketMarkerLogsDC9BF7D0.Properties.KmsKeyId).toBeUndefined();
  });

  test('the bucket\'s customer key encrypts the marker function\'s log group and dead-letter queue (CT.CLOUDWATCH.PR.3); logical ids unchanged', () => {
    const s = newStack();
    const key = new kms.Key(s, 'Key', { enableKeyRotation: true });
    new PersistentBucket(s, 'Artifacts', { encryptionKey: key });
    const resources = Template.fromStack(s).toJSON().Resources;
    const keyArn = { 'Fn::GetAtt': [logicalId(s, key), 'Arn'] };
    expect(resources.CdkProductionPatternsPersistentBucketMarkerLogsDC9BF7D0.Properties.KmsKeyId).toEqual(keyArn);
    expect(resources.CdkProductionPatternsPersistentBucketMarkerDlqE20BD0C0.Properties.KmsMasterKeyId).toEqual(keyArn);
    const keyPolicy: any[] = resources[logicalId(s, key)].Properties.KeyPolicy.Statement;
    const services = keyPolicy.flatMap((st) => [].concat(st.Principal?.Service ?? []));
    // CloudWatch Logs may use the key; no EventBridge grant (only Lambda sends to this queue, with the function's role).
    expect(services).toEqual(['logs.eu-west-1.amazonaws.com']);
    // a key of the user's is left as it is (no statement limiting its grants)
    expect(keyPolicy.some((st) => [].concat(st.Action).includes('kms:CreateGrant' as never))).toBe(false);
  });

  test('markerEncryptionKey encrypts the marker\'s logs for a bucket that keeps SSE-S3', () => {
    const s = newStack();
    const key = new kms.Key(s, 'LogsKey', { enableKeyRotation: true });
    new PersistentBucket(s, 'Artifacts', { markerEncryptionKey: key });
    const t = Template.fromStack(s);
    expect(t.toJSON().Resources.CdkProductionPatternsPersistentBucketMarkerLogsDC9BF7D0.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalId(s, key), 'Arn'] });
    t.hasResourceProperties('AWS::S3::Bucket', { BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } });
  });

  test('an imported markerEncryptionKey is used, with the warning that its policy must let CloudWatch Logs use it', () => {
    const s = newStack();
    const key = kms.Key.fromKeyArn(s, 'Imported', 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555');
    new PersistentBucket(s, 'Artifacts', { markerEncryptionKey: key });
    Template.fromStack(s).hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: key.keyArn });
    Annotations.fromStack(s).hasWarning('*', Match.stringLikeRegexp('key policy must allow logs.<region>.amazonaws.com'));
  });

  test('the key S3 creates for encryption: KMS limits grants to AWS services (CT.KMS.PR.3) and encrypts the marker\'s logs', () => {
    const s = newStack();
    const b = new PersistentBucket(s, 'Artifacts', { encryption: s3.BucketEncryption.KMS });
    const t = Template.fromStack(s);
    const keyId = logicalId(s, b.encryptionKey!);
    const statements: any[] = t.toJSON().Resources[keyId].Properties.KeyPolicy.Statement;
    expect(statements).toContainEqual({
      Sid: 'DenyGrantsNotForAwsResources',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    expect(t.toJSON().Resources.CdkProductionPatternsPersistentBucketMarkerLogsDC9BF7D0.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  describe('handler network: the marker function in your VPC (CT.LAMBDA.PR.3)', () => {
    const withVpc = () => {
      const s = newStack();
      const vpc = new ec2.Vpc(s, 'Vpc', { maxAzs: 2, natGateways: 1, restrictDefaultSecurityGroup: false });
      vpc.addFlowLog('FlowLog');
      return { s, vpc };
    };

    test('handlerVpc puts the shared marker function in the private subnets; cdk-nag stays clean but for the access-log choice', () => {
      const { s, vpc } = withVpc();
      new PersistentBucket(s, 'A', { handlerVpc: vpc });
      new PersistentBucket(s, 'B'); // no network props: shares the function as it is
      const t = Template.fromStack(s);
      t.resourceCountIs('AWS::Lambda::Function', 1);
      const fn = t.toJSON().Resources.CdkProductionPatternsPersistentBucketMarker237B9DBA.Properties;
      expect(fn.VpcConfig.SubnetIds).toEqual(vpc.privateSubnets.map((sn) => ({ Ref: s.getLogicalId(sn.node.defaultChild as ec2.CfnSubnet) })));
      expect(fn.VpcConfig.SecurityGroupIds).toHaveLength(1);
      const errors = runNag(s).filter((f) => f.severity === 'error').map((f) => f.rule);
      expect([...new Set(errors)]).toEqual(['AwsSolutions-S1']);
    });

    test('two buckets naming the same network share the function', () => {
      const { s, vpc } = withVpc();
      const sg = new ec2.SecurityGroup(s, 'Sg', { vpc });
      new PersistentBucket(s, 'A', { handlerVpc: vpc, handlerSecurityGroups: [sg] });
      new PersistentBucket(s, 'B', { handlerVpc: vpc, handlerSecurityGroups: [sg] });
      Template.fromStack(s).resourceCountIs('AWS::Lambda::Function', 1);
    });

    test.each<[string, (vpc: ec2.Vpc, s: Stack) => [object, object], RegExp]>([
      ['a network after a bucket without one', (vpc) => [{}, { handlerVpc: vpc }], /Test\/B: invalid prop 'handlerVpc': .*created outside a VPC for Test\/A/],
      ['other subnets', (vpc) => [{ handlerVpc: vpc }, { handlerVpc: vpc, handlerVpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } }],
        /Test\/B: invalid prop 'handlerVpc': .*created in another network/],
      ['another marker key', (_vpc, s) => [{ markerEncryptionKey: new kms.Key(s, 'K1') }, { markerEncryptionKey: new kms.Key(s, 'K2') }],
        /Test\/B: invalid prop 'markerEncryptionKey': .*created with another key for Test\/A/],
    ])('a conflict on the shared function is a synth error: %s', (_name, props, message) => {
      const { s, vpc } = withVpc();
      const [a, b] = props(vpc, s);
      new PersistentBucket(s, 'A', a);
      expect(() => new PersistentBucket(s, 'B', b)).toThrow(message);
    });

    test('subnets without handlerVpc are a synth error naming the prop', () => {
      expect(() => new PersistentBucket(newStack(), 'X', { handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }))
        .toThrow(/Test\/X: invalid prop 'handlerVpc': is required when handlerVpcSubnets is given/);
    });
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
