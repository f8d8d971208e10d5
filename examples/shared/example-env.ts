import { Environment } from 'aws-cdk-lib';

/**
 * The environment every example synthesizes into. Fixed dummy values keep synth offline and
 * reproducible (no credentials, no context lookups); set CDK_DEPLOY_ACCOUNT / CDK_DEPLOY_REGION to deploy.
 */
export function exampleEnv(): Environment {
  return {
    account: process.env.CDK_DEPLOY_ACCOUNT ?? '123456789012',
    region: process.env.CDK_DEPLOY_REGION ?? 'us-east-1',
  };
}

/** Feature flags the examples synthesize with (the ones `cdk init` sets that matter to them). */
export function exampleContext(): Record<string, unknown> {
  return {
    '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  };
}
