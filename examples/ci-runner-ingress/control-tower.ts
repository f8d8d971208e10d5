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
import { awsCdkLibHandlerOutsideVpc, LOG_DESTINATION_NOT_LOGGED, NO_EVENT_CONSUMER, NO_OBJECT_LOCK } from '../shared/control-tower';

export const CONTROL_TOWER_ACKNOWLEDGEMENTS: ControlAcknowledgement[] = [
  {
    control: 'CT.ELASTICLOADBALANCING.PR.2',
    resources: ['RunnerApiAlbHttps', 'CallbackAlbHttps'],
    reason: 'The listeners\' certificate is the CertificateArn parameter, which accepts only an ACM certificate ARN (AllowedPattern): '
      + 'a Control Tower hook evaluates the resolved properties at deployment, where it is one. The offline check sees a Ref to a '
      + 'parameter, not an ARN.',
  },
  {
    control: 'CT.LAMBDA.PR.3',
    resources: ['CustomVpcRestrictDefaultSGCustomResourceProvider'],
    reason: awsCdkLibHandlerOutsideVpc('provider behind @aws-cdk/aws-ec2:restrictDefaultSecurityGroup (it removes the rules of the '
      + 'VPC\'s default security group)'),
  },

  // The ALB access-log bucket (ALB log delivery decides its encryption).
  { control: 'CT.S3.PR.2', resources: ['AlbAccessLogs'], reason: LOG_DESTINATION_NOT_LOGGED },
  {
    control: 'CT.S3.PR.10',
    resources: ['AlbAccessLogs'],
    reason: 'Elastic Load Balancing delivers access logs only to buckets encrypted with SSE-S3: with SSE-KMS default encryption the '
      + 'ALBs could not write their logs (aws-cdk-lib refuses the combination).',
  },
  { control: 'CT.S3.PR.4', resources: ['AlbAccessLogs'], reason: NO_EVENT_CONSUMER },
  { control: 'CT.S3.PR.9', resources: ['AlbAccessLogs'], reason: NO_OBJECT_LOCK },
];
