/**
 * What the compliance tests share: the construct's failures of the AWS Control Tower controls, with
 * the resources that are not the construct's (aws-cdk-lib's singleton handlers, the test stack's own
 * resources) left out by logical-id prefix.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { checkControlTower, ControlFailure } from '../harness/control-tower';

/** Resources that are not the construct's, by logical-id prefix, each with why. */
export interface NotOurs {
  readonly prefix: string;
  readonly why: string;
}

/** A stack with the feature flags `cdk init` writes (as the examples synthesize). */
export function complianceStack(id: string): Stack {
  const app = new App({ context: { ...CURRENTLY_RECOMMENDED_FLAGS } });
  return new Stack(app, id, { env: { account: '123456789012', region: 'us-east-1' } });
}

/** A customer-managed key as a compliant stack would have it: rotated, grants only for AWS services (CT.KMS.PR.1, PR.3). */
export function customerKey(stack: Stack, id = 'Key'): kms.Key {
  const key = new kms.Key(stack, id, { enableKeyRotation: true });
  key.addToResourcePolicy(new iam.PolicyStatement({
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  }));
  return key;
}

/** The failures of the construct's resources: every failing resource not named by `notOurs`. */
export function constructFailures(template: object, notOurs: NotOurs[]): ControlFailure[] {
  return checkControlTower(template).failures
    .map((f) => ({ ...f, resources: f.resources.filter((r) => !notOurs.some((n) => r.startsWith(n.prefix))) }))
    .filter((f) => f.resources.length > 0);
}

/** The resource types in a template (to show that a claimed control had something to check). */
export function resourceTypes(template: { Resources?: Record<string, { Type: string }> }): Set<string> {
  return new Set(Object.values(template.Resources ?? {}).map((r) => r.Type));
}

/**
 * The claimed controls (control -> the resource type it checks) whose type the template does not hold:
 * a claim with nothing to check would pass without proving anything.
 */
export function claimsWithoutResources(
  template: { Resources?: Record<string, { Type: string }> }, claimed: Record<string, string>,
): Array<[string, string]> {
  const types = resourceTypes(template);
  return Object.entries(claimed).filter(([, type]) => !types.has(type));
}
