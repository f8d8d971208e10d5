/**
 * Reasons the examples share in their AWS Control Tower acknowledgements
 * (examples/<app>/control-tower.ts; `npx projen examples` and test/examples.test.ts apply them).
 */

/**
 * CT.LAMBDA.PR.3 for a handler aws-cdk-lib creates for itself (a custom-resource provider or a
 * singleton function): none of them accepts a VPC.
 * @param what the handler, e.g. "the BucketNotificationsHandler that enables the bucket's EventBridge notifications"
 */
export function awsCdkLibHandlerOutsideVpc(what: string): string {
  return `aws-cdk-lib's own ${what} takes no VPC (aws-cdk-lib offers no prop for it); it runs only while CloudFormation `
    + 'creates, updates or deletes its custom resource.';
}

/** CT.LAMBDA.PR.3 for our handlers in an example without a VPC. */
export const HANDLERS_OUTSIDE_VPC = 'This example has no VPC: running the handlers in one is a deployment choice that needs a VPC with a NAT '
  + 'gateway, or interface endpoints for every service they call (and a gateway endpoint for S3 / DynamoDB). Pass handlerVpc '
  + '(and handlerVpcSubnets, handlerSecurityGroups) to comply; ci-runner-ingress shows it.';

/** CT.S3.PR.4 for a bucket whose object events nothing consumes. */
export const NO_EVENT_CONSUMER = 'Nothing consumes this bucket\'s object events: enabling notifications only to satisfy the control would send '
  + 'events that no rule reads. Buckets whose events drive something turn them on where they are used.';

/** CT.S3.PR.9 for a bucket whose retention lifecycle rules and versioning govern. */
export const NO_OBJECT_LOCK = 'Object Lock (WORM) would keep every object for a fixed period even from the account\'s administrators; '
  + 'here versioning and lifecycle rules govern retention. Where a regulation requires WORM storage, enable Object Lock with a '
  + 'default retention that matches it.';

/** CT.S3.PR.2 for a bucket that is itself the destination of access logs. */
export const LOG_DESTINATION_NOT_LOGGED = 'This bucket is an access-log destination: logging it into another bucket only moves the finding '
  + 'there (the last bucket of any chain fails it), and logging it into itself would loop. CloudTrail S3 data events are the audit '
  + 'trail for a log bucket.';

/** CT.S3.PR.10 for the destination of S3 server access logs. */
export const SERVER_ACCESS_LOGS_NEED_SSE_S3 = 'This bucket receives S3 server access logs, which S3 delivers only to buckets encrypted with '
  + 'SSE-S3 (default encryption with SSE-KMS is not supported for a server access log destination).';
