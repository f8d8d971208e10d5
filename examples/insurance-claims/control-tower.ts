/**
 * The AWS Control Tower proactive controls this example fails by its own choice, and why.
 *
 * `npx projen examples` and test/examples.test.ts run the rules (cfn-guard) on the synthesized
 * template: a failure that no entry covers fails them, and so does an entry (or one of its
 * `resources`) that covers no failure. `resources` are logical-id prefixes (the id without its hash).
 * In an account that enforces one of these controls, its hook rejects the deployment: comply there
 * as the reason says.
 */
import type { ControlAcknowledgement } from '../../test/harness/control-tower';
import {
  awsCdkLibHandlerOutsideVpc, HANDLERS_OUTSIDE_VPC, LOG_DESTINATION_NOT_LOGGED, NO_EVENT_CONSUMER, NO_OBJECT_LOCK, SERVER_ACCESS_LOGS_NEED_SSE_S3,
} from '../shared/control-tower';

export const CONTROL_TOWER_ACKNOWLEDGEMENTS: ControlAcknowledgement[] = [
  {
    // the workflow's handlers: starter, validator, reasoner, approval request, endpoint and monitor, signing-key rotation
    control: 'CT.LAMBDA.PR.3',
    resources: ['Claims'],
    reason: `${HANDLERS_OUTSIDE_VPC} The workflow's handlers call S3, DynamoDB, Step Functions, Secrets Manager, EventBridge, SNS, `
      + 'SQS, Bedrock and X-Ray.',
  },
  {
    control: 'CT.LAMBDA.PR.3',
    resources: ['BucketNotificationsHandler'],
    reason: awsCdkLibHandlerOutsideVpc('BucketNotificationsHandler (it turns on the upload bucket\'s EventBridge notifications)'),
  },

  // AccessLogs: the server access-log destination of the upload and artifact buckets.
  { control: 'CT.S3.PR.2', resources: ['AccessLogs'], reason: LOG_DESTINATION_NOT_LOGGED },
  { control: 'CT.S3.PR.10', resources: ['AccessLogs'], reason: SERVER_ACCESS_LOGS_NEED_SSE_S3 },

  { control: 'CT.S3.PR.4', resources: ['AccessLogs', 'ClaimsArtifactBucket'], reason: NO_EVENT_CONSUMER },
  {
    control: 'CT.S3.PR.4',
    resources: ['ClaimUploads'],
    reason: 'The upload bucket does send its object events to EventBridge (they start the workflow), but aws-cdk-lib turns them on '
      + 'through its Custom::S3BucketNotifications resource, not the bucket\'s NotificationConfiguration property, which is all the '
      + 'rule reads.',
  },
  {
    control: 'CT.S3.PR.9',
    resources: ['AccessLogs', 'ClaimUploads', 'ClaimsArtifactBucket'],
    reason: `${NO_OBJECT_LOCK} How long a claim photo and the model's answer must be kept unaltered is a legal decision of each `
      + 'insurer and jurisdiction.',
  },
];
