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
import { awsCdkLibHandlerOutsideVpc } from '../shared/control-tower';

export const CONTROL_TOWER_ACKNOWLEDGEMENTS: ControlAcknowledgement[] = [
  {
    control: 'CT.LAMBDA.PR.3',
    resources: ['IngestFunction'],
    reason: 'A Lambda Managed Instances function takes no VpcConfig: it runs on its capacity provider\'s instances, which are in the '
      + 'VPC\'s private subnets behind the pool\'s security group (IngestPool). The control checks VpcConfig on the function and '
      + 'cannot see that; a Control Tower hook that enforces it rejects Managed Instances functions altogether.',
  },
  {
    control: 'CT.LAMBDA.PR.3',
    resources: ['CustomVpcRestrictDefaultSGCustomResourceProvider'],
    reason: awsCdkLibHandlerOutsideVpc('provider behind @aws-cdk/aws-ec2:restrictDefaultSecurityGroup (it removes the rules of the '
      + 'VPC\'s default security group)'),
  },
];
