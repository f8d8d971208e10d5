import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';

/** Adds `kms:Decrypt` (and more) on a key to the pipe's policy (none: nothing). @internal */
export function allowKey(policy: iam.Policy, key: kms.IKey | undefined, actions: string[]): void {
  if (key) policy.addStatements(new iam.PolicyStatement({ actions, resources: [key.keyArn] }));
}
