import { CustomResource, Duration, RemovalPolicy, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { throwPropError } from '../core/errors';
import { bundledFunction } from '../core/functions';
import { MarkerObjectFunction } from './runtime/marker-object-function';

/**
 * Properties of a PersistentBucket.
 *
 * Every `s3.BucketProps` field is accepted, but the ones that would let the bucket be given up
 * (a removal policy other than RETAIN, `autoDeleteObjects`, public access, plain HTTP, no encryption)
 * are synth-time errors.
 */
export interface PersistentBucketProps extends s3.BucketProps {
  /**
   * Write the marker object `DO_NOT_DELETE_S3_BUCKET_PERSISTENT` into the bucket at deploy time,
   * so that anyone browsing the bucket sees that it must not be deleted.
   *
   * Uses one small Lambda-backed custom resource per stack (shared by every PersistentBucket in it).
   * @default true
   */
  readonly markerObject?: boolean;
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
 *   pass a KMS key or encryption).
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

  /** One marker-writer function per stack, shared by every PersistentBucket in it. */
  private static markerFunction(scope: Construct): lambda.IFunction {
    const stack = Stack.of(scope);
    const id = 'CdkProductionPatternsPersistentBucketMarker';
    const existing = stack.node.tryFindChild(id) as lambda.IFunction | undefined;
    if (existing) return existing;
    const { fn } = bundledFunction(stack, id, MarkerObjectFunction, {
      description: 'cdk-production-patterns: writes the DO_NOT_DELETE marker object into PersistentBuckets',
      memorySize: 256,
      timeout: Duration.minutes(1),
    }, {
      logGroupId: `${id}Logs`,
      // CloudFormation invokes custom-resource handlers asynchronously: keep failed events.
      asyncFailures: { queueId: `${id}Dlq`, owner: 'the marker-writer function' },
    });
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
    super(scope, id, {
      ...props,
      removalPolicy: RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
      blockPublicAccess: props.blockPublicAccess ?? s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: props.minimumTLSVersion ?? 1.2,
      versioned: props.versioned ?? true,
      encryption: props.encryption ?? (props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED),
    });

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
      const fn = PersistentBucket.markerFunction(this);
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
