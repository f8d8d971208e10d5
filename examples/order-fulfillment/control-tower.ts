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
import { HANDLERS_OUTSIDE_VPC } from '../shared/control-tower';

export const CONTROL_TOWER_ACKNOWLEDGEMENTS: ControlAcknowledgement[] = [
  {
    // the example's own functions: the pipe's enrichment and the three consumers' handlers
    control: 'CT.LAMBDA.PR.3',
    resources: ['CustomerLookup', 'InventoryHandler', 'ShippingHandler', 'NotificationHandler'],
    reason: 'This example has no VPC: running its functions in one is a deployment choice that needs a VPC with a NAT gateway, or '
      + 'interface endpoints for what they call (a DynamoDB gateway endpoint for the customer lookup, KMS, CloudWatch Logs and X-Ray '
      + 'for all four). Give each lambda.Function a vpc (and vpcSubnets, securityGroups) in app.ts to comply; the pipe and the '
      + 'queues need no VPC.',
  },
  {
    // the construct's handler: the circuit breaker that stops the pipe when a consumer fails
    control: 'CT.LAMBDA.PR.3',
    resources: ['OrderEventsCircuitBreakerHandler'],
    reason: `${HANDLERS_OUTSIDE_VPC} The circuit breaker's handler calls EventBridge Pipes (StopPipe, StartPipe, DescribePipe).`,
  },
];
