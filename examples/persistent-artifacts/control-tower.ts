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
    control: 'CT.LAMBDA.PR.3',
    resources: ['CdkProductionPatternsPersistentBucketMarker'],
    reason: `${HANDLERS_OUTSIDE_VPC} The marker function calls S3, SQS and X-Ray.`,
  },
  {
    control: 'CT.LAMBDA.PR.3',
    resources: ['CustomS3AutoDeleteObjectsCustomResourceProvider'],
    reason: awsCdkLibHandlerOutsideVpc('auto-delete-objects provider (it empties the Scratch bucket when the bucket is deleted)'),
  },

  // AccessLogs: the server access-log destination of Artifacts and Scratch.
  { control: 'CT.S3.PR.2', resources: ['AccessLogs'], reason: LOG_DESTINATION_NOT_LOGGED },
  { control: 'CT.S3.PR.10', resources: ['AccessLogs'], reason: SERVER_ACCESS_LOGS_NEED_SSE_S3 },
  {
    control: 'CT.S3.PR.10',
    resources: ['Artifacts'],
    reason: 'Pipelines in other accounts read the release artifacts: with SSE-KMS every consumer\'s role would need kms:Decrypt in '
      + 'this key\'s policy as well as in its own. SSE-S3 encrypts them at rest with keys S3 manages; pass encryptionKey to the '
      + 'PersistentBucket where a customer key is required.',
  },
  {
    control: 'CT.S3.PR.10',
    resources: ['Scratch'],
    reason: 'Scratch holds temporary build files that are safe to lose and expire after 7 days: SSE-S3 encrypts them at rest, '
      + 'without the requests a customer key is billed for.',
  },

  { control: 'CT.S3.PR.4', resources: ['AccessLogs', 'Artifacts', 'Scratch'], reason: NO_EVENT_CONSUMER },
  {
    control: 'CT.S3.PR.9',
    resources: ['AccessLogs', 'Artifacts', 'Scratch'],
    reason: `${NO_OBJECT_LOCK} The release artifacts are protected by versioning, the bucket policy that denies s3:DeleteBucket, `
      + 'and RETAIN.',
  },
];
