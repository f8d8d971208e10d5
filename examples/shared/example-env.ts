import { Environment } from 'aws-cdk-lib';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';

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

/**
 * Feature flags the examples synthesize with: every flag `cdk init` writes into a new project's
 * cdk.json for the installed aws-cdk-lib (its `CURRENTLY_RECOMMENDED_FLAGS`, the same set as the
 * CLI's init template). Each examples/<app>/cdk.json carries the same flags as literal context, so
 * `npx cdk synth` in the folder and `createApp()` in the tests and scripts synthesize the same
 * template; test/examples.test.ts fails when an aws-cdk-lib upgrade changes the set and the cdk.json
 * files were not updated with it.
 */
export function exampleContext(): Record<string, unknown> {
  return { ...CURRENTLY_RECOMMENDED_FLAGS };
}
