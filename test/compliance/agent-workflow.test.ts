/**
 * StepFunctionsAgentWorkflow against the AWS Control Tower proactive controls (cfn-guard rules), with
 * its compliance props set: a customer key, the handlers in private subnets, server access logs for
 * the artifact bucket, an alarm topic. Every handler, queue, log group and the approval API exist in
 * this configuration (S3 trigger, approval with signing-key rotation).
 */
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { claimsWithoutResources, complianceStack, constructFailures, customerKey, NotOurs } from './compliance';
import {
  AgentField, AgentTrigger, ApprovalPolicy, DecisionCondition, HumanApproval, StepFunctionsAgentWorkflow,
} from '../../src';
import { IMAGES, policiesTable, policyTool, reasoning } from '../agent-workflow/workflow-fixtures';

/** The controls the workflow passes with the props above, each with the resource type it checks. */
const CLAIMED: Record<string, string> = {
  'CT.APIGATEWAY.PR.1': 'AWS::ApiGateway::Stage', // execution logging (ERROR) for every method
  'CT.APIGATEWAY.PR.2': 'AWS::ApiGateway::Stage', // X-Ray
  'CT.APIGATEWAY.PR.3': 'AWS::ApiGateway::Stage', // no unencrypted cache
  'CT.CLOUDWATCH.PR.1': 'AWS::CloudWatch::Alarm', // alarmTopic
  'CT.CLOUDWATCH.PR.2': 'AWS::Logs::LogGroup', // one year (logRetention)
  'CT.CLOUDWATCH.PR.3': 'AWS::Logs::LogGroup', // encryptionKey, on every log group
  'CT.CLOUDWATCH.PR.4': 'AWS::CloudWatch::Alarm',
  'CT.DYNAMODB.PR.1': 'AWS::DynamoDB::Table',
  'CT.DYNAMODB.PR.2': 'AWS::DynamoDB::Table',
  'CT.IAM.PR.1': 'AWS::IAM::Policy',
  'CT.IAM.PR.5': 'AWS::IAM::Policy',
  'CT.LAMBDA.PR.2': 'AWS::Lambda::Permission', // SourceAccount on the approval API's permissions
  'CT.LAMBDA.PR.3': 'AWS::Lambda::Function', // handlerVpc
  'CT.S3.PR.1': 'AWS::S3::Bucket',
  'CT.S3.PR.2': 'AWS::S3::Bucket', // artifactAccessLogsBucket
  'CT.S3.PR.3': 'AWS::S3::Bucket',
  'CT.S3.PR.5': 'AWS::S3::Bucket',
  'CT.S3.PR.6': 'AWS::S3::Bucket',
  'CT.S3.PR.8': 'AWS::S3::BucketPolicy',
  'CT.S3.PR.10': 'AWS::S3::Bucket', // encryptionKey
  'CT.S3.PR.11': 'AWS::S3::Bucket',
  'CT.SQS.PR.1': 'AWS::SQS::Queue', // the trigger queue's DLQ; each DLQ's redrive allow policy
  'CT.SQS.PR.2': 'AWS::SQS::Queue',
  'CT.STEPFUNCTIONS.PR.1': 'AWS::StepFunctions::StateMachine',
  'CT.STEPFUNCTIONS.PR.2': 'AWS::StepFunctions::StateMachine',
};

/** Declined for the artifact bucket, with the reasons in the README's Compliance section. */
const DECLINED = [
  'CT.S3.PR.4', // event notifications: nothing consumes them, and aws-cdk-lib's notifications handler would run outside the VPC
  'CT.S3.PR.9', // object lock: cannot be turned off, and retention would block the lifecycle expiry of artifacts and input copies
];

const NOT_OURS: NotOurs[] = [
  { prefix: 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834', why: 'aws-cdk-lib\'s singleton bucket-notifications handler (EventBridge on the trigger bucket); it takes no VPC' },
  { prefix: 'CustomVpcRestrictDefaultSGCustomResourceProvider', why: 'aws-cdk-lib\'s singleton handler that empties the test VPC\'s default security group; it takes no VPC' },
  { prefix: 'Vpc', why: 'the test stack\'s VPC: public subnets for its NAT gateway (CT.EC2.PR.11)' },
  { prefix: 'Uploads', why: 'the test stack\'s trigger bucket (the user\'s bucket)' },
  { prefix: 'AccessLogs', why: 'the test stack\'s access-log bucket (a log destination declines logging, object lock, notifications)' },
];

describe('StepFunctionsAgentWorkflow: AWS Control Tower proactive controls', () => {
  const stack = complianceStack('AgentWorkflowCompliance');
  const key = customerKey(stack);
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const accessLogs = new s3.Bucket(stack, 'AccessLogs', { enforceSSL: true });
  const uploads = new s3.Bucket(stack, 'Uploads', { encryptionKey: key, enforceSSL: true, serverAccessLogsBucket: accessLogs });
  const reviewers = new sns.Topic(stack, 'Reviewers', { masterKey: key, enforceSSL: true });
  const alarms = new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true });
  new StepFunctionsAgentWorkflow(stack, 'Workflow', {
    trigger: AgentTrigger.s3ObjectCreated(uploads, { prefix: 'claims/' }),
    validation: IMAGES,
    reasoning: reasoning(),
    tools: [policyTool(policiesTable(stack, key))],
    approval: ApprovalPolicy.when(
      [DecisionCondition.greaterThanOrEqual(AgentField.output('severity_score'), 4)],
      HumanApproval.notify(reviewers, { timeout: Duration.days(2), signingKeyRotation: Duration.days(30) }),
    ),
    encryptionKey: key,
    handlerVpc: vpc,
    handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    artifactAccessLogsBucket: accessLogs,
    alarmTopic: alarms,
  });
  const template = Template.fromStack(stack).toJSON();
  const failures = constructFailures(template, NOT_OURS);

  test('every claimed control passes on the workflow\'s resources', () => {
    expect(failures.filter((f) => f.control in CLAIMED)).toEqual([]);
  });

  test('the only other failures are the declined controls, on the artifact bucket', () => {
    const others = failures.filter((f) => !(f.control in CLAIMED));
    expect(others.map((f) => f.control).sort()).toEqual(DECLINED);
    for (const f of others) expect(f.resources).toEqual([expect.stringMatching(/^WorkflowArtifactBucket/)]);
  });

  test('each claimed control had resources of its type to check', () => {
    expect(claimsWithoutResources(template, CLAIMED)).toEqual([]);
  });
});
