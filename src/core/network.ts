import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';
import { throwPropError } from './errors';
import { HandlerNetworkProps } from './handler-network-props';

/** The validated network of a pattern's handlers: the function options it sets. @internal */
export interface HandlerNetwork {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/**
 * Validates the handler network props of a pattern (at its construct path) and returns the network,
 * or undefined when the handlers run outside a VPC.
 * @internal
 */
export function handlerNetwork(scope: IConstruct, props: HandlerNetworkProps): HandlerNetwork | undefined {
  const { handlerVpc: vpc, handlerVpcSubnets: vpcSubnets, handlerSecurityGroups: securityGroups } = props;
  if (!vpc) {
    const given = [vpcSubnets ? 'handlerVpcSubnets' : undefined, securityGroups ? 'handlerSecurityGroups' : undefined].filter((p) => p);
    if (given.length > 0) {
      throwPropError(scope, 'handlerVpc', `is required when ${given.join(' or ')} is given: name the VPC the handlers run in, or remove ${given.join(' and ')}`);
    }
    return undefined;
  }
  if (securityGroups && (securityGroups.length < 1 || securityGroups.length > 5)) {
    throwPropError(scope, 'handlerSecurityGroups', `must hold 1..5 security groups (Lambda's limit), got ${securityGroups.length}; omit it for one new group per handler`);
  }
  return { vpc, vpcSubnets, securityGroups };
}

/**
 * Acknowledges the cdk-nag finding on the AWS managed VPC access role aws-cdk-lib attaches to a
 * function in a VPC (it manages the function's network interfaces).
 * @internal
 */
export function acknowledgeVpcAccessRole(fn: lambda.IFunction): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    reason: 'The AWS managed VPC access role only lets Lambda create, describe and delete the function\'s network interfaces in the VPC.',
  });
}
