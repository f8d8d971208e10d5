/**
 * Example: release artifacts in a bucket that can never be given up by accident.
 *
 * - `Artifacts`: a PersistentBucket with a fixed, predictable name (other accounts and pipelines
 *   refer to it), access-logged into `AccessLogs`.
 * - `AccessLogs`: a PersistentBucket too: losing the log trail is as bad as losing the data.
 * - `Scratch`: an ordinary bucket that may be destroyed; it has no fixed name, so it cannot be
 *   taken over, and the BucketTakeoverGuard stays silent about it.
 * - The BucketTakeoverGuard aspect checks the whole app.
 * - `MarkerKey`: encrypts the marker-writer function's log group and dead-letter queue.
 * - The template passes the AWS Control Tower proactive controls except those acknowledged, with the
 *   reasons, in ./control-tower.ts.
 */
import { App, AppProps, Aspects, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BucketTakeoverGuard, LogicalIdGuard, PersistentBucket } from '../../src';
import { limitGrantsToAwsServices } from '../shared/compliance';
import { exampleContext, exampleEnv } from '../shared/example-env';

export class PersistentArtifactsStack extends Stack {
  public readonly artifacts: PersistentBucket;
  public readonly accessLogs: PersistentBucket;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // The buckets keep SSE-S3 (see control-tower.ts); this key encrypts the marker function's log group
    // and dead-letter queue (CT.CLOUDWATCH.PR.3). The function is shared by the stack's PersistentBuckets:
    // the first one names its key.
    const markerKey = new kms.Key(this, 'MarkerKey', { enableKeyRotation: true, description: 'PersistentBucket marker function: logs and dead letters' });
    limitGrantsToAwsServices(markerKey);

    this.accessLogs = new PersistentBucket(this, 'AccessLogs', {
      markerEncryptionKey: markerKey,
      lifecycleRules: [{ expiration: Duration.days(400), noncurrentVersionExpiration: Duration.days(30) }],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log destination; logging it into itself would loop.',
    });

    this.artifacts = new PersistentBucket(this, 'Artifacts', {
      bucketName: `cdkpp-release-artifacts-${this.account}-${this.region}`,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90) }],
    });

    const scratch = new s3.Bucket(this, 'Scratch', {
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // versioned, so an overwrite within the day can be undone; old versions go after a day
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'scratch/',
      lifecycleRules: [{ expiration: Duration.days(7), noncurrentVersionExpiration: Duration.days(1) }],
    });
    scratch.node.addMetadata('purpose', 'temporary build files, safe to lose');
  }
}

export function createApp(props?: AppProps): App {
  const app = new App({ ...props, context: { ...exampleContext(), ...props?.context } });
  new PersistentArtifactsStack(app, 'PersistentArtifacts', { env: exampleEnv() });
  LogicalIdGuard.of(app, { lockFile: `${__dirname}/logical-ids.lock.json` }); // fails synth when a stateful resource would be replaced
  Aspects.of(app).add(new BucketTakeoverGuard());
  return app;
}

if (require.main === module) {
  createApp().synth();
}
