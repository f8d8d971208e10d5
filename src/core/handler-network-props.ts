import * as ec2 from 'aws-cdk-lib/aws-ec2';

/**
 * Where the Lambda handlers a construct creates run: in subnets of your VPC, or (by default) outside
 * any VPC.
 *
 * Running them in a VPC is what the AWS Control Tower proactive control CT.LAMBDA.PR.3 requires.
 * The handlers call AWS APIs, so the subnets need a route to them: a NAT gateway, or VPC endpoints
 * for the services each construct names in its documentation (and, for X-Ray tracing, `xray`).
 * Every pattern of this library accepts the same three props.
 */
export interface HandlerNetworkProps {
  /**
   * The VPC the construct's Lambda handlers run in (CT.LAMBDA.PR.3).
   *
   * The subnets must reach the AWS APIs the handlers call: through a NAT gateway, or through VPC
   * endpoints. aws-cdk-lib's own singleton handlers (bucket notifications, auto-delete objects,
   * restrict-default-security-group) take no VPC and stay outside it.
   * @default - the handlers run outside any VPC
   */
  readonly handlerVpc?: ec2.IVpc;
  /**
   * The subnets of `handlerVpc` the handlers run in (requires `handlerVpc`).
   * @default - the VPC's private subnets with egress, else its isolated subnets (aws-cdk-lib's choice for a function)
   */
  readonly handlerVpcSubnets?: ec2.SubnetSelection;
  /**
   * The security groups of the handlers (requires `handlerVpc`; 1 to 5 groups).
   * @default - one new security group per handler: no inbound rule, all outbound traffic allowed
   */
  readonly handlerSecurityGroups?: ec2.ISecurityGroup[];
}
