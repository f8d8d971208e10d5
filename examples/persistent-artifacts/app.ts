/**
 * Example: release artifacts in a bucket that can never be given up by accident.
 *
 * - `Artifacts`: a PersistentBucket with a fixed, predictable name (other accounts and pipelines
 *   refer to it), access-logged into `AccessLogs`.
 * - `AccessLogs`: a PersistentBucket too: losing the log trail is as bad as losing the data.
 * - `Scratch`: an ordinary bucket that may be destroyed; it has no fixed name, so it cannot be
 *   taken over, and the BucketTakeoverGuard stays silent about it.
 * - The BucketTakeoverGuard aspect checks the whole app.
 */
import { App, AppProps, Aspects, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BucketTakeoverGuard, PersistentBucket } from '../../src';
import { exampleContext, exampleEnv } from '../shared/example-env';

export class PersistentArtifactsStack extends Stack {
  public readonly artifacts: PersistentBucket;
  public readonly accessLogs: PersistentBucket;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.accessLogs = new PersistentBucket(this, 'AccessLogs', {
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
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'scratch/',
      lifecycleRules: [{ expiration: Duration.days(7) }],
    });
    scratch.node.addMetadata('purpose', 'temporary build files, safe to lose');
  }
}

export function createApp(props?: AppProps): App {
  const app = new App({ ...props, context: { ...exampleContext(), ...props?.context } });
  new PersistentArtifactsStack(app, 'PersistentArtifacts', { env: exampleEnv() });
  Aspects.of(app).add(new BucketTakeoverGuard());
  return app;
}

if (require.main === module) {
  createApp().synth();
}
