import { CustomResource, Duration, RemovalPolicy, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { throwPropError } from '../core/errors';
import { bundledFunction } from '../core/functions';
import { HandlerNetworkProps } from '../core/handler-network-props';
import { HandlerNetwork, handlerNetwork } from '../core/network';
import { MarkerObjectFunction } from './runtime/marker-object-function';

/**
 * Properties of a PersistentBucket.
 *
 * Every `s3.BucketProps` field is accepted, but the ones that would let the bucket be given up
 * (a removal policy other than RETAIN, `autoDeleteObjects`, public access, plain HTTP, no encryption)
 * are synth-time errors.
 *
 * `handlerVpc`, `handlerVpcSubnets` and `handlerSecurityGroups` place the marker function in your
 * VPC (CT.LAMBDA.PR.3). It calls S3 (PutObject) and, when it fails, SQS; with X-Ray, X-Ray: the
 * subnets need a NAT gateway or the `s3` gateway endpoint and the `sqs` and `xray` interface
 * endpoints. The function is shared by the PersistentBuckets of a stack: give them all the same
 * network props (and `markerEncryptionKey`), or give them to the first and none to the others.
 */
export interface PersistentBucketProps extends s3.BucketProps, HandlerNetworkProps {
  /**
   * Write the marker object `DO_NOT_DELETE_S3_BUCKET_PERSISTENT` into the bucket at deploy time,
   * so that anyone browsing the bucket sees that it must not be deleted.
   *
   * Uses one small Lambda-backed custom resource per stack (shared by every PersistentBucket in it).
   * @default true
   */
  readonly markerObject?: boolean;
  /**
   * Customer-managed key for the marker function's log group and dead-letter queue (CT.CLOUDWATCH.PR.3),
   * for a bucket that keeps SSE-S3 or uses a key you would rather not give CloudWatch Logs.
   *
   * A key defined in this app gets the key-policy statement that lets CloudWatch Logs use it for the
   * log groups of this account and region; an imported key's policy must already allow it (a warning
   * says so). Like the network props, it applies to the stack's shared marker function: give it to
   * the first PersistentBucket of the stack (or the same key to all).
   * @default - the bucket's customer-managed key, if it has one; else CloudWatch Logs' and SQS's own encryption
   */
  readonly markerEncryptionKey?: kms.IKey;
}

/**
 * An S3 bucket that can never be given up by accident.
 *
 * A deleted bucket's name is free for anyone to claim; whoever claims it receives the writes and
 * serves the reads that were meant for the original (S3 bucket takeover). A PersistentBucket:
 * - is always `RemovalPolicy.RETAIN` (asking for anything else is a synth error);
 * - has a bucket policy that denies `s3:DeleteBucket` to every principal, so even an administrator
 *   must first remove that statement, a deliberate two-step act;
 * - is tagged `persistent=true`;
 * - carries a marker object `DO_NOT_DELETE_S3_BUCKET_PERSISTENT` written at deploy (optional);
 * - blocks all public access, accepts TLS only, is versioned and encrypted (SSE-S3 unless you
 *   pass a KMS key or encryption);
 * - aborts incomplete multipart uploads after 7 days unless you pass `lifecycleRules` (a lifecycle
 *   rule that deletes no object, which AWS Control Tower's CT.S3.PR.3/PR.6 ask of a versioned bucket).
 *
 * With a customer-managed key (`markerEncryptionKey`, else the bucket's: `encryptionKey`, or
 * `encryption: KMS` and the key S3 creates), the marker function's log group and dead-letter queue
 * are encrypted with it. A key the bucket creates itself denies `kms:CreateGrant` to anything but
 * AWS services acting for AWS resources (CT.KMS.PR.3).
 *
 * It is an `s3.Bucket`, so it works wherever a bucket does.
 *
 * @example
 * import { PersistentBucket } from 'cdk-production-patterns';
 *
 * const artifacts = new PersistentBucket(this, 'Artifacts', {
 *   bucketName: 'acme-release-artifacts',
 * });
 */
export class PersistentBucket extends s3.Bucket {
  /** Key of the marker object written into every PersistentBucket (unless disabled). */
  public static readonly MARKER_OBJECT_KEY = 'DO_NOT_DELETE_S3_BUCKET_PERSISTENT';

  /** Tag key set on every PersistentBucket. */
  public static readonly TAG_KEY = 'persistent';

  private static validateProps(scope: Construct, id: string, props: PersistentBucketProps): void {
    const where = { node: { path: `${scope.node.path}/${id}` } } as unknown as Construct;
    if (props.removalPolicy !== undefined && props.removalPolicy !== RemovalPolicy.RETAIN) {
      throwPropError(where, 'removalPolicy',
        `a PersistentBucket is always RemovalPolicy.RETAIN, got ${props.removalPolicy}; use s3.Bucket for a bucket that may be deleted`);
    }
    if (props.autoDeleteObjects) {
      throwPropError(where, 'autoDeleteObjects', 'must not be true: a PersistentBucket is never emptied or deleted by CloudFormation');
    }
    if (props.publicReadAccess) {
      throwPropError(where, 'publicReadAccess', 'must not be true: a PersistentBucket blocks all public access');
    }
    if (props.enforceSSL === false) {
      throwPropError(where, 'enforceSSL', 'must not be false: a PersistentBucket accepts TLS requests only');
    }
    if (props.encryption === s3.BucketEncryption.UNENCRYPTED) {
      throwPropError(where, 'encryption', 'must not be UNENCRYPTED: use S3_MANAGED (default), KMS_MANAGED, KMS, DSSE_MANAGED or DSSE');
    }
    const bpa = props.blockPublicAccess;
    if (bpa && !(bpa.blockPublicAcls && bpa.blockPublicPolicy && bpa.ignorePublicAcls && bpa.restrictPublicBuckets)) {
      throwPropError(where, 'blockPublicAccess', 'must block all four public-access settings (BlockPublicAccess.BLOCK_ALL)');
    }
    if (props.minimumTLSVersion !== undefined && !Token.isUnresolved(props.minimumTLSVersion) && props.minimumTLSVersion < 1.2) {
      throwPropError(where, 'minimumTLSVersion', `must be at least 1.2, got ${props.minimumTLSVersion}`);
    }
  }

  /**
   * One marker-writer function per stack, shared by every PersistentBucket in it. Its log group and
   * dead-letter queue use the key of the bucket that creates it (`markerEncryptionKey`, else the
   * bucket's customer key), and it runs in that bucket's handler network; a later bucket naming
   * another network or marker key is an error. Its logical id stays the same whatever the settings
   * (the custom resources' ServiceToken cannot change).
   */
  private static markerFunction(bucket: PersistentBucket, settings: MarkerSettings): lambda.IFunction {
    const stack = Stack.of(bucket);
    const id = 'CdkProductionPatternsPersistentBucketMarker';
    const existing = stack.node.tryFindChild(id) as lambda.IFunction | undefined;
    if (existing) {
      const made = markerSettings.get(existing)!;
      const conflict = (prop: string, how: string) => throwPropError(bucket, prop,
        `the marker function of stack ${stack.node.path} is shared by its PersistentBuckets and was created ${how} for ${made.owner}: `
        + 'give every PersistentBucket of the stack the same handlerVpc, handlerVpcSubnets, handlerSecurityGroups and markerEncryptionKey, '
        + 'or give them to the first one only');
      if (settings.network && !sameNetwork(made.network, settings.network)) conflict('handlerVpc', made.network ? 'in another network' : 'outside a VPC');
      if (settings.explicitKey && settings.key !== made.key) conflict('markerEncryptionKey', made.key ? 'with another key' : 'without a customer key');
      return existing;
    }
    const { fn } = bundledFunction(stack, id, MarkerObjectFunction, {
      description: 'cdk-production-patterns: writes the DO_NOT_DELETE marker object into PersistentBuckets',
      memorySize: 256,
      timeout: Duration.minutes(1),
    }, {
      logGroupId: `${id}Logs`,
      encryptionKey: settings.key,
      network: settings.network,
      // CloudFormation invokes custom-resource handlers asynchronously: keep failed events (only Lambda sends to the queue).
      asyncFailures: { queueId: `${id}Dlq`, owner: 'the marker-writer function', senders: [] },
    });
    markerSettings.set(fn, { ...settings, owner: bucket.node.path });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
    });
    return fn;
  }

  /** The statement that denies `s3:DeleteBucket` to every principal. */
  public readonly denyDeleteStatement: iam.PolicyStatement;

  /** The custom resource that writes the marker object, if enabled. */
  public readonly markerResource?: CustomResource;

  /**
   * Creates the bucket.
   * @param scope the parent construct
   * @param id the construct id
   * @param props every `s3.BucketProps` field (those that would give the bucket up are errors), and the marker object
   */
  constructor(scope: Construct, id: string, props: PersistentBucketProps = {}) {
    PersistentBucket.validateProps(scope, id, props);
    const { handlerVpc, handlerVpcSubnets, handlerSecurityGroups, markerEncryptionKey, ...bucketProps } = props;
    super(scope, id, {
      ...bucketProps,
      removalPolicy: RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
      blockPublicAccess: props.blockPublicAccess ?? s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: props.minimumTLSVersion ?? 1.2,
      versioned: props.versioned ?? true,
      encryption: props.encryption ?? (props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED),
      // A rule that deletes no object: what is left of uploads that never completed goes after a week.
      lifecycleRules: props.lifecycleRules ?? [{ id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    });
    const network = handlerNetwork(this, { handlerVpc, handlerVpcSubnets, handlerSecurityGroups });

    // The key S3 created for `encryption: KMS` (or DSSE) without `encryptionKey` is ours: grants only for AWS services.
    if (!props.encryptionKey && this.encryptionKey instanceof kms.Key) {
      this.encryptionKey.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'DenyGrantsNotForAwsResources',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
      }));
    }

    this.denyDeleteStatement = new iam.PolicyStatement({
      sid: 'DenyDeleteBucketPersistent',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:DeleteBucket'],
      resources: [this.bucketArn],
    });
    this.addToResourcePolicy(this.denyDeleteStatement);

    Tags.of(this).add(PersistentBucket.TAG_KEY, 'true');

    if (props.markerObject ?? true) {
      const fn = PersistentBucket.markerFunction(this, {
        network,
        key: markerEncryptionKey ?? this.encryptionKey,
        explicitKey: markerEncryptionKey !== undefined,
      });
      // Exactly what the writer needs: put one key (and, with a customer key, one data key).
      fn.addToRolePolicy(new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.arnForObjects(PersistentBucket.MARKER_OBJECT_KEY)],
      }));
      if (this.encryptionKey) {
        fn.addToRolePolicy(new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey'],
          resources: [this.encryptionKey.keyArn],
        }));
      }
      this.markerResource = new CustomResource(this, 'MarkerObject', {
        serviceToken: fn.functionArn,
        resourceType: 'Custom::PersistentBucketMarker',
        properties: {
          BucketName: this.bucketName,
          Key: PersistentBucket.MARKER_OBJECT_KEY,
          StackName: Stack.of(this).stackName,
          ConstructPath: this.node.path,
        },
        // The marker stays with the retained bucket.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // The bucket policy (TLS-only, deny delete) exists before the marker is written.
      if (this.policy) this.markerResource.node.addDependency(this.policy);
    }
  }
}

/** What a bucket asks of the stack's marker function. */
interface MarkerSettings {
  readonly network?: HandlerNetwork;
  /** Encrypts the function's log group and dead-letter queue. */
  readonly key?: kms.IKey;
  /** `markerEncryptionKey` was given (else the key is the bucket's own, or none). */
  readonly explicitKey: boolean;
}

/** The settings each stack's marker function was created with, and for which bucket. */
const markerSettings = new WeakMap<lambda.IFunction, MarkerSettings & { readonly owner: string }>();

/** Whether two handler networks place a function in the same subnets with the same security groups. */
function sameNetwork(a: HandlerNetwork | undefined, b: HandlerNetwork | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.vpc !== b.vpc) return false;
  const subnets = (n: HandlerNetwork) => n.vpc.selectSubnets(n.vpcSubnets).subnetIds.join(',');
  const groups = (n: HandlerNetwork) => (n.securityGroups ?? []).map((g) => g.securityGroupId).sort().join(',');
  return subnets(a) === subnets(b) && groups(a) === groups(b);
}
