/**
 * Stacks and props shared by the StepFunctionsAgentWorkflow construct tests.
 */
import { App, Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { CLAIM_SCHEMA as EXAMPLE_CLAIM_SCHEMA } from '../../examples/insurance-claims/app';
import {
  AgentField, AgentReasoning, AgentTool, AgentTrigger, ApprovalPolicy, ApprovalTimeout, DecisionCondition,
  DynamoProjection, HumanApproval, InputValidation, StepFunctionsAgentWorkflow, StepFunctionsAgentWorkflowProps,
} from '../../src';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export const NOVA_PRO_PROFILE = 'us.amazon.nova-pro-v1:0';
export const NOVA_MICRO_PROFILE = 'us.amazon.nova-micro-v1:0';
export const CLAUDE = 'anthropic.claude-3-5-sonnet-20240620-v1:0';

/** The example's answer schema plus one object field (conditions may not read non-scalar fields). */
export const CLAIM_SCHEMA = {
  ...EXAMPLE_CLAIM_SCHEMA,
  properties: { ...EXAMPLE_CLAIM_SCHEMA.properties, details: { type: 'object', properties: { note: { type: 'string' } } } },
};

export function newStack(): Stack {
  return new Stack(new App(), 'S', { env: { account: ACCOUNT, region: REGION } });
}

/** A bucket that passes cdk-nag on its own (server access logs into a second bucket). */
export function uploadsBucket(stack: Stack, key?: kms.IKey): s3.Bucket {
  const logs = new s3.Bucket(stack, 'AccessLogs', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(logs).acknowledge({ id: 'AwsSolutions-S1', reason: 'The access-log bucket of the uploads bucket.' });
  return new s3.Bucket(stack, 'ClaimUploads', {
    encryption: key ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
    encryptionKey: key,
    bucketKeyEnabled: !!key,
    enforceSSL: true,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    removalPolicy: RemovalPolicy.RETAIN,
    serverAccessLogsBucket: logs,
  });
}

export function reasoning(overrides: Partial<Parameters<typeof AgentReasoning.bedrockConverse>[0]> = {}): AgentReasoning {
  return AgentReasoning.bedrockConverse({
    modelId: NOVA_PRO_PROFILE,
    systemPrompt: 'You are a motor-insurance claims assessor.',
    prompt: 'Assess the damage in the attached photo (claim {{key}}, policy {{metadata.policy_id}}).',
    outputSchema: CLAIM_SCHEMA,
    maxTokens: 1500,
    temperature: 0,
    ...overrides,
  });
}

export const IMAGES = InputValidation.s3Object({ maxSize: Size.mebibytes(5), contentTypes: ['image/jpeg', 'image/png'] });

export function policyTool(table: dynamodb.ITable, name = 'policy'): AgentTool {
  return AgentTool.dynamoDbGetItem(name, table, {
    key: { policyId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt(AgentField.metadata('policy_id').jsonPath)) },
    attributes: {
      autoApproveLimit: DynamoProjection.numberAttribute('autoApproveLimit'),
      coverageLimit: DynamoProjection.numberAttribute('coverageLimit'),
      status: DynamoProjection.stringAttribute('status'),
    },
  });
}

export function policiesTable(stack: Stack, key?: kms.IKey): dynamodb.Table {
  return new dynamodb.Table(stack, 'Policies', {
    partitionKey: { name: 'policyId', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: key ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED,
    encryptionKey: key,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
}

export interface FullStack {
  readonly stack: Stack;
  readonly workflow: StepFunctionsAgentWorkflow;
  readonly key: kms.Key;
  readonly uploads: s3.Bucket;
  readonly adjusters: sns.Topic;
  readonly teamLeads: sns.Topic;
  readonly alarms: sns.Topic;
}

/**
 * The insurance-claims example's configuration in stack 'S', workflow 'Claims': customer key, S3
 * trigger under `claims/`, Nova Pro through the SDK integration, a Nova Micro summarizer, one policy
 * tool, approval with a heartbeat and escalation to team leads, an alarm topic.
 */
export function fullStack(): FullStack {
  const stack = newStack();
  const key = new kms.Key(stack, 'ClaimsKey', { enableKeyRotation: true, description: 'Claims data encryption' });
  key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
  const uploads = uploadsBucket(stack, key);
  const policies = policiesTable(stack, key);
  const adjusters = new sns.Topic(stack, 'Adjusters', { masterKey: key, enforceSSL: true });
  const teamLeads = new sns.Topic(stack, 'TeamLeads', { masterKey: key, enforceSSL: true });
  const alarms = new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true });
  const workflow = new StepFunctionsAgentWorkflow(stack, 'Claims', {
    workflowName: 'insurance-claims',
    trigger: AgentTrigger.s3ObjectCreated(uploads, { prefix: 'claims/' }),
    validation: IMAGES,
    reasoning: reasoning(),
    tools: [policyTool(policies)],
    approval: ApprovalPolicy.when([
      DecisionCondition.greaterThanField(AgentField.output('estimated_cost'), AgentField.tool('policy', 'autoApproveLimit')),
      DecisionCondition.lessThan(AgentField.output('confidence_score'), 0.8),
      DecisionCondition.greaterThanOrEqual(AgentField.output('severity_score'), 4),
    ], HumanApproval.notify(adjusters, {
      timeout: Duration.days(2),
      heartbeat: Duration.hours(12),
      onTimeout: ApprovalTimeout.escalate(teamLeads, Duration.days(1)),
    }), {
      rejectWhen: [
        DecisionCondition.greaterThanField(AgentField.output('estimated_cost'), AgentField.tool('policy', 'coverageLimit')),
        DecisionCondition.stringEquals(AgentField.tool('policy', 'status'), 'LAPSED'),
      ],
    }),
    checkpoint: { summarizerModelId: NOVA_MICRO_PROFILE, ttl: Duration.days(30) },
    encryptionKey: key,
    alarmTopic: alarms,
  });
  return { stack, workflow, key, uploads, adjusters, teamLeads, alarms };
}

/** Props that construct without error: manual trigger, Claude through the reasoner Lambda, nothing else. */
export function minimalProps(stack: Stack, overrides: Partial<StepFunctionsAgentWorkflowProps> = {}): StepFunctionsAgentWorkflowProps {
  const bucket = (stack.node.tryFindChild('ClaimUploads') as s3.Bucket | undefined) ?? uploadsBucket(stack);
  return {
    trigger: AgentTrigger.manual(bucket, 'in/'),
    reasoning: reasoning({ modelId: CLAUDE, temperature: undefined }),
    ...overrides,
  };
}
