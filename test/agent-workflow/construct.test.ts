import { CfnElement, Duration, Size, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { IConstruct } from 'constructs';
import {
  fullStack, FullStack, IMAGES, minimalProps, newStack, policiesTable, policyTool, reasoning, uploadsBucket,
} from './workflow-fixtures';
import {
  AgentTool, AgentTrigger, ApprovalEndpointAuth, ApprovalPolicy, HumanApproval, InputValidation, ReasoningInvocation, StepFunctionsAgentWorkflow,
  StepFunctionsAgentWorkflowProps,
} from '../../src';
import { expectNoWildcardActions } from '../harness/iam';
import { expectNoUnsuppressedNagErrors } from '../harness/nag';
import { definitionFromTemplate } from '../harness/sfn-local';

// asl-validator ships no typings; its CommonJS entry is a function (definition, options) => result.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator: (definition: any, options?: { checkPaths?: boolean; checkArn?: boolean }) => { isValid: boolean; errors: any[] } = require('asl-validator');

// ---------------------------------------------------------------------------------------------
// helpers

/** A CloudFormation value as a readable string: `Ref AWS::Partition` is `aws`, other refs `<Id>`, attributes `<Id.Attr>`. */
function render(v: any): string {
  if (typeof v === 'string') return v;
  if (v?.Ref === 'AWS::Partition') return 'aws';
  if (v?.Ref) return `<${v.Ref}>`;
  if (v?.['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
  if (v?.['Fn::Join']) return (v['Fn::Join'][1] as any[]).map(render).join(v['Fn::Join'][0]);
  return JSON.stringify(v);
}

const list = (v: unknown): any[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const actionsOf = (st: any): string[] => list(st.Action);
const resourcesOf = (st: any): string[] => list(st.Resource).map(render);

function logicalId(c: IConstruct): string {
  return Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
}

/** Every statement of the identity policies attached to a role. */
function statementsOf(template: Template, role: iam.IRole): any[] {
  const roleId = logicalId(role);
  return Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .filter((p) => list(p.Properties.Roles).some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** Every identity-policy statement in the template, with the roles it is attached to. */
function allStatements(template: Template): Array<{ roles: string[]; st: any }> {
  return Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement.map((st: any) => ({ roles: list(p.Properties.Roles).map(render), st })));
}

function roleOf(fn: lambda.IFunction | undefined): iam.IRole {
  if (!fn?.role) throw new Error('function without a role');
  return fn.role;
}

/** Resources on which the statements allow bedrock actions (failing when any bedrock action other than InvokeModel is allowed). */
function bedrockResources(statements: any[]): string[] {
  const bedrock = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('bedrock:')));
  for (const st of bedrock) expect(actionsOf(st)).toEqual(['bedrock:InvokeModel']);
  return bedrock.flatMap(resourcesOf).sort();
}

/** The states of each Parallel branch of Run Tools, flattened (names). */
function toolBranchStates(definition: any): string[] {
  return (definition.States['Run Tools']?.Branches ?? []).flatMap((b: any) => Object.keys(b.States));
}

/** States by name, including the states of Parallel branches. */
function statesOf(definition: any, into: Record<string, any> = {}): Record<string, any> {
  for (const [name, state] of Object.entries<any>(definition.States ?? {})) {
    into[name] = state;
    for (const branch of state.Branches ?? []) statesOf(branch, into);
  }
  return into;
}

/**
 * expectNoWildcardActions over the template, less the account-root `kms:*` statement of the default key policy
 * of the test's own keys (the customer's key is not the construct's; every other statement is checked).
 */
function expectNoWildcardActionsBesidesKeyAdmin(template: Template): void {
  const json = structuredClone(template.toJSON());
  for (const res of Object.values<any>(json.Resources)) {
    if (res.Type !== 'AWS::KMS::Key') continue;
    res.Properties.KeyPolicy.Statement = res.Properties.KeyPolicy.Statement
      .filter((st: any) => !(st.Action === 'kms:*' && render(st.Principal?.AWS) === 'arn:aws:iam::123456789012:root'));
  }
  expectNoWildcardActions(Template.fromJSON(json));
}

function expectValidAsl(definition: any): void {
  // the validator annotates the definition it is given (QueryLanguage): hand it a copy
  const result = aslValidator(structuredClone(definition));
  expect(result.errors).toEqual([]);
  expect(result.isValid).toBe(true);
}

const NOVA_PRO_ARNS = [
  'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0',
  'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0',
  'arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-pro-v1:0',
  'arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0',
];
const NOVA_MICRO_ARNS = [
  'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0',
  'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0',
  'arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-micro-v1:0',
  'arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0',
];
const CLAUDE_ARN = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0';

// ---------------------------------------------------------------------------------------------
// the example's configuration: customer key, S3 trigger, SDK integration, tools, approval with heartbeat and escalation

describe('StepFunctionsAgentWorkflow: full configuration (customer key, S3 trigger, Nova Pro SDK integration, approval, escalation)', () => {
  let f: FullStack;
  let template: Template;
  let definition: any;
  let states: Record<string, any>;
  let keyArn: string;

  beforeAll(() => {
    f = fullStack();
    template = Template.fromStack(f.stack);
    definition = definitionFromTemplate(template);
    states = statesOf(definition);
    keyArn = `<${logicalId(f.key)}.Arn>`;
  });

  // ---- IAM

  test('bedrock:InvokeModel: the state machine role on exactly the Nova Pro profile + its foundation models; the reasoner only on the summarizer', () => {
    const wf = f.workflow;
    expect(bedrockResources(statementsOf(template, wf.stateMachine.role))).toEqual([...NOVA_PRO_ARNS].sort());
    // on the SDK path the reasoner only checkpoints and summarizes
    expect(bedrockResources(statementsOf(template, roleOf(wf.functions.reasoner)))).toEqual([...NOVA_MICRO_ARNS].sort());
    // nobody else may call a model
    const others = allStatements(template)
      .filter(({ st }) => actionsOf(st).some((a) => a.startsWith('bedrock:')))
      .flatMap(({ roles }) => roles);
    expect(new Set(others)).toEqual(new Set([`<${logicalId(wf.stateMachine.role)}>`, `<${logicalId(roleOf(wf.functions.reasoner))}>`]));
  });

  test('no wildcard IAM actions', () => {
    expectNoWildcardActionsBesidesKeyAdmin(template);
  });

  test('S3 reads: uploads only under claims/ and only by the validator; the model caller reads the validated copies only', () => {
    const uploads = `<${logicalId(f.uploads)}.Arn>`;
    const artifacts = `<${logicalId(f.workflow.artifactBucket)}.Arn>`;
    const reads = allStatements(template).filter(({ st }) => actionsOf(st).some((a) => /^s3:(Get|List)/.test(a)));
    expect(reads.length).toBeGreaterThan(0);
    const wf = f.workflow;
    const readersOf = (resource: string) => new Set(reads.filter(({ st }) => resourcesOf(st).includes(resource)).flatMap(({ roles }) => roles));
    for (const { st } of reads) {
      if (actionsOf(st).includes('s3:ListBucket')) {
        // listing (key names only) of the bucket: without it a missing object answers 403, not 404
        expect(actionsOf(st)).toEqual(['s3:ListBucket']);
        expect([[uploads], [artifacts]]).toContainEqual(resourcesOf(st));
      } else {
        expect([[`${uploads}/claims/*`], [`${artifacts}/inputs/*`], [`${artifacts}/artifacts/*`]]).toContainEqual(resourcesOf(st));
      }
    }
    expect(readersOf(`${uploads}/claims/*`)).toEqual(new Set([`<${logicalId(roleOf(wf.functions.validator))}>`]));
    // Bedrock reads the copy of the validated version with the state machine's permissions (SDK integration)
    expect(readersOf(`${artifacts}/inputs/*`)).toEqual(new Set([`<${logicalId(wf.stateMachine.role)}>`]));
    // the validator writes those copies
    const writes = allStatements(template).filter(({ st }) => actionsOf(st).includes('s3:PutObject') && resourcesOf(st).includes(`${artifacts}/inputs/*`));
    expect(writes.flatMap(({ roles }) => roles)).toEqual([`<${logicalId(roleOf(wf.functions.validator))}>`]);
  });

  test('the approval endpoint may send task success/failure/heartbeat to this state machine, and read its executions\' history and status, only', () => {
    const sfnStatements = statementsOf(template, roleOf(f.workflow.functions.approvalEndpoint)).filter((st) => actionsOf(st).some((a) => a.startsWith('states:')));
    expect(sfnStatements).toHaveLength(2);
    const [sendTask, reads] = sfnStatements;
    expect([...actionsOf(sendTask)].sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess']);
    expect(resourcesOf(sendTask)).toEqual([`<${logicalId(f.workflow.stateMachine)}>`]);
    // to tell whether a decision Step Functions answered with an error was applied
    expect([...actionsOf(reads)].sort()).toEqual(['states:DescribeExecution', 'states:GetExecutionHistory']);
    const name = JSON.stringify({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: logicalId(f.workflow.stateMachine) }] }] });
    expect(resourcesOf(reads)).toEqual([`arn:aws:states:${f.stack.region}:${f.stack.account}:execution:${name}:*`]);
  });

  test('the starter may start executions of this state machine only', () => {
    const st = statementsOf(template, roleOf(f.workflow.functions.starter)).filter((s) => actionsOf(s).some((a) => a.startsWith('states:')));
    expect(st.map(actionsOf)).toEqual([['states:StartExecution']]);
    expect(st.flatMap(resourcesOf)).toEqual([`<${logicalId(f.workflow.stateMachine)}>`]);
  });

  test('zero unsuppressed cdk-nag errors', () => {
    expectNoUnsuppressedNagErrors(f.stack);
  });

  test('no synth-time warnings for this configuration', () => {
    expect(Annotations.fromStack(f.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  // ---- encryption

  test('tables use the customer managed key', () => {
    const wf = f.workflow;
    for (const table of [wf.auditTable, wf.contextTable, wf.approvalsTable!]) {
      const props = template.toJSON().Resources[logicalId(table)].Properties;
      expect(props.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [logicalId(f.key), 'Arn'] } });
    }
  });

  test('the artifacts bucket uses aws:kms with the key', () => {
    const props = template.toJSON().Resources[logicalId(f.workflow.artifactBucket)].Properties;
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([expect.objectContaining({
      ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [logicalId(f.key), 'Arn'] } },
    })]);
  });

  test('every queue of the workflow uses the key', () => {
    const queues = Object.entries<any>(template.findResources('AWS::SQS::Queue')).filter(([id]) => id.startsWith('Claims'));
    expect(queues.length).toBeGreaterThanOrEqual(2);
    for (const [id, q] of queues) {
      expect({ id, key: q.Properties.KmsMasterKeyId }).toEqual({ id, key: { 'Fn::GetAtt': [logicalId(f.key), 'Arn'] } });
    }
  });

  test('the state machine is encrypted with the key, and its role may use the key for this state machine\'s data', () => {
    const sm = template.toJSON().Resources[logicalId(f.workflow.stateMachine)].Properties;
    expect(sm.EncryptionConfiguration).toEqual(expect.objectContaining({
      Type: 'CUSTOMER_MANAGED_KMS_KEY', KmsKeyId: { 'Fn::GetAtt': [logicalId(f.key), 'Arn'] },
    }));
    // Step Functions encrypts execution data (e.g. a SendTaskFailure cause) with the execution role, under the
    // encryption context aws:states:stateMachineArn = the state machine's ARN: the condition must name it.
    const st = statementsOf(template, f.workflow.stateMachine.role)
      .find((s) => s.Condition?.StringEquals?.['kms:EncryptionContext:aws:states:stateMachineArn']);
    expect(st).toBeDefined();
    expect(resourcesOf(st)).toEqual([keyArn]);
    const arn = render(st.Condition.StringEquals['kms:EncryptionContext:aws:states:stateMachineArn']);
    expect(arn).toMatch(/^arn:aws:states:us-east-1:123456789012:stateMachine:.+$/);
    expect(arn).toBe(`arn:aws:states:us-east-1:123456789012:stateMachine:${sm.StateMachineName}`);
  });

  test('the signing secret uses the key', () => {
    const props = template.toJSON().Resources[logicalId(f.workflow.signingSecret!)].Properties;
    expect(props.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalId(f.key), 'Arn'] });
  });

  // ---- tables

  test('audit table: executionId/recordId, point-in-time recovery, retained', () => {
    const audit = template.toJSON().Resources[logicalId(f.workflow.auditTable)];
    expect(audit.DeletionPolicy).toBe('Retain');
    expect(audit.UpdateReplacePolicy).toBe('Retain');
    expect(audit.Properties.KeySchema).toEqual([{ AttributeName: 'executionId', KeyType: 'HASH' }, { AttributeName: 'recordId', KeyType: 'RANGE' }]);
    expect(audit.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  test('context table: scope/checkpointId with TTL attribute ttl', () => {
    const ctx = template.toJSON().Resources[logicalId(f.workflow.contextTable)].Properties;
    expect(ctx.KeySchema).toEqual([{ AttributeName: 'scope', KeyType: 'HASH' }, { AttributeName: 'checkpointId', KeyType: 'RANGE' }]);
    expect(ctx.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
  });

  test('approvals table: TTL ttl and the byStatus index (status S, createdAt N, INCLUDE expiresAt)', () => {
    const props = template.toJSON().Resources[logicalId(f.workflow.approvalsTable!)].Properties;
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    expect(props.AttributeDefinitions).toEqual(expect.arrayContaining([
      { AttributeName: 'status', AttributeType: 'S' }, { AttributeName: 'createdAt', AttributeType: 'N' },
    ]));
    expect(props.GlobalSecondaryIndexes).toEqual([{
      IndexName: 'byStatus',
      KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'createdAt', KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['expiresAt'] },
    }]);
  });

  // ---- logical ids

  test('logical ids of stateful resources are pinned (a rename replaces data, running executions or links)', () => {
    const wf = f.workflow;
    const ids = {
      auditTable: logicalId(wf.auditTable),
      contextTable: logicalId(wf.contextTable),
      approvalsTable: logicalId(wf.approvalsTable!),
      artifactBucket: logicalId(wf.artifactBucket),
      signingSecret: logicalId(wf.signingSecret!),
      stateMachine: logicalId(wf.stateMachine),
      triggerQueue: logicalId(wf.triggerQueue!),
      triggerDeadLetterQueue: logicalId(wf.triggerDeadLetterQueue!),
    };
    expect(ids).toEqual({
      auditTable: 'ClaimsAuditTableFAEB91BD',
      contextTable: 'ClaimsContextTable29D19585',
      approvalsTable: 'ClaimsApprovalsTableEE7AACDA',
      artifactBucket: 'ClaimsArtifactBucket4749E1E3',
      signingSecret: 'ClaimsSigningSecretF0C0B053',
      stateMachine: 'ClaimsStateMachineDBD414F7',
      triggerQueue: 'ClaimsTriggerQueueDC8217B8',
      triggerDeadLetterQueue: 'ClaimsTriggerDeadLetterQueue559B4F38',
    });
    const resources = template.toJSON().Resources;
    expect(Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, resources[id]?.Type]))).toEqual({
      auditTable: 'AWS::DynamoDB::Table',
      contextTable: 'AWS::DynamoDB::Table',
      approvalsTable: 'AWS::DynamoDB::Table',
      artifactBucket: 'AWS::S3::Bucket',
      signingSecret: 'AWS::SecretsManager::Secret',
      stateMachine: 'AWS::StepFunctions::StateMachine',
      triggerQueue: 'AWS::SQS::Queue',
      triggerDeadLetterQueue: 'AWS::SQS::Queue',
    });
  });

  // ---- state machine

  test('state machine: STANDARD, traced, logs at ERROR without execution data by default', () => {
    const sm = template.toJSON().Resources[logicalId(f.workflow.stateMachine)].Properties;
    expect(sm.StateMachineType).toBe('STANDARD');
    expect(sm.TracingConfiguration).toEqual({ Enabled: true });
    expect(sm.LoggingConfiguration).toEqual(expect.objectContaining({ Level: 'ERROR', IncludeExecutionData: false }));
    expect(sm.LoggingConfiguration.Destinations).toEqual([{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalId(f.workflow.logGroup), 'Arn'] } } }]);
  });

  test('the definition is valid Amazon States Language', () => {
    expectValidAsl(definition);
  });

  test('the execution timeout covers the approval wait and the escalation (2 d + 1 d + 1 h)', () => {
    expect(definition.TimeoutSeconds).toBe(2 * 86400 + 86400 + 3600);
  });

  test('the model is called through the SDK integration (Converse), retried on throttling with backoff 2 and full jitter', () => {
    const reason = states.Reason;
    expect(reason.Resource).toBe('arn:aws:states:::aws-sdk:bedrockruntime:converse');
    expect(reason.Parameters.ModelId).toBe('us.amazon.nova-pro-v1:0');
    expect(reason.Parameters.InferenceConfig).toEqual({ MaxTokens: 1500, Temperature: 0 });
    const throttling = reason.Retry.find((r: any) => r.ErrorEquals.includes('BedrockRuntime.ThrottlingException'));
    expect(throttling).toEqual(expect.objectContaining({ BackoffRate: 2, JitterStrategy: 'FULL', MaxAttempts: 5, IntervalSeconds: 2 }));
    // the SDK path is followed by the Lambda checkpoint
    expect(reason.Next).toBe('Checkpoint Answer');
  });

  test('human approval is a .waitForTaskToken Lambda task with the approval timeout and heartbeat', () => {
    const request = states['Request Approval'];
    expect(request.Type).toBe('Task');
    expect(request.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(request.TimeoutSeconds).toBe(172800);
    expect(request.HeartbeatSeconds).toBe(43200);
    expect(request.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
    expect(request.Parameters.FunctionName).toContain(logicalId(f.workflow.functions.approvalRequest!));
  });

  test('escalation: a timed-out approval goes to Escalate Approval, which waits the escalation timeout', () => {
    const request = states['Request Approval'];
    const onTimeout = request.Catch.find((c: any) => c.ErrorEquals.includes('States.Timeout'));
    expect(onTimeout.Next).toBe('Escalate Approval');
    expect(onTimeout.ErrorEquals).toContain('States.HeartbeatTimeout');
    const escalate = states['Escalate Approval'];
    expect(escalate.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(escalate.TimeoutSeconds).toBe(86400);
    expect(escalate.Parameters.Payload.stage).toBe('escalation');
    expect(escalate.Catch.find((c: any) => c.ErrorEquals.includes('States.Timeout')).Next).toBe('Approval Timed Out');
  });

  test('escalation: the request function may publish to the approvers\' and the escalation topic, and to nothing else', () => {
    const publish = statementsOf(template, roleOf(f.workflow.functions.approvalRequest)).filter((st) => actionsOf(st).some((a) => a.startsWith('sns:')));
    expect(publish.flatMap(actionsOf)).toEqual(['sns:Publish', 'sns:Publish']);
    expect(publish.flatMap(resourcesOf).sort()).toEqual([`<${logicalId(f.adjusters)}>`, `<${logicalId(f.teamLeads)}>`].sort());
    const fn = template.toJSON().Resources[logicalId(f.workflow.functions.approvalRequest!)].Properties;
    expect(fn.Environment.Variables).toEqual(expect.objectContaining({
      PRIMARY_TOPIC_ARN: { Ref: logicalId(f.adjusters) }, ESCALATION_TOPIC_ARN: { Ref: logicalId(f.teamLeads) },
    }));
  });

  test('the tool runs in a Parallel state, its result joins $.tools.policy', () => {
    const tools = states['Run Tools'];
    expect(tools.Type).toBe('Parallel');
    expect(tools.ResultPath).toBe('$.tools');
    expect(tools.ResultSelector).toEqual({ 'policy.$': '$[0]' });
    expect(states['Tool policy'].Resource).toBe('arn:aws:states:::dynamodb:getItem');
  });

  test('the GetItem branch is the task alone (the projected attributes only); the digest step projects it and Use Tool Results places it', () => {
    expect(toolBranchStates(definition)).toEqual(['Tool policy']);
    const getItem = states['Tool policy'];
    expect(getItem.End).toBe(true);
    expect(getItem.ResultSelector).toBeUndefined();
    expect(getItem.Parameters.ProjectionExpression).toBe('#p0,#p1,#p2');
    expect(getItem.Parameters.ExpressionAttributeNames).toEqual({ '#p0': 'autoApproveLimit', '#p1': 'coverageLimit', '#p2': 'status' });
    const digest = states['Digest Tool Results'];
    expect(digest.Parameters).toEqual({
      'mode': 'digest',
      'tools.$': '$.tools',
      'projections': {
        policy: [
          { field: 'autoApproveLimit', attribute: 'autoApproveLimit', type: 'N' },
          { field: 'coverageLimit', attribute: 'coverageLimit', type: 'N' },
          { field: 'status', attribute: 'status', type: 'S' },
        ],
      },
      'progress': { 'executionId.$': '$$.Execution.Id' },
    });
    expect(digest.ResultPath).toBe('$.toolsDigest');
    expect(digest.Next).toBe('Use Tool Results');
    expect(states['Use Tool Results']).toEqual({
      Type: 'Pass', Parameters: { 'state.$': 'States.JsonMerge($, $.toolsDigest, false)' }, OutputPath: '$.state', Next: 'Decide',
    });
  });

  test('progress events: sent by the handlers on the path (payload `progress`); states only where none is', () => {
    expect(Object.keys(states).filter((n) => n.startsWith('Progress ')).sort())
      .toEqual(['Progress Completed', 'Progress Failed', 'Progress Invalid Answer', 'Progress Rejected']);
    expect(definition.StartAt).toBe('Validate Input');
    const progress = { 'executionId.$': '$$.Execution.Id' };
    expect(states['Validate Input'].Parameters.progress).toEqual({ ...progress, 'startedAt.$': '$$.Execution.StartTime' });
    expect(states['Checkpoint Answer'].Parameters.progress).toEqual(progress);
    expect(states['Request Approval'].Parameters.Payload.progress).toEqual(progress);
    // one 'approval' event per execution: the escalation sends none
    expect(states['Escalate Approval'].Parameters.Payload.progress).toBeUndefined();
  });

  test('progress events: the validator and the reasoner may put events on the workflow\'s bus only, and know where', () => {
    const putEvents = (fn: lambda.IFunction | undefined) => statementsOf(template, roleOf(fn)).filter((st) => actionsOf(st).includes('events:PutEvents'));
    const bus = putEvents(f.workflow.functions.approvalRequest).flatMap(resourcesOf);
    expect(bus).toEqual(['arn:aws:events:us-east-1:123456789012:event-bus/default']);
    for (const role of ['validator', 'reasoner']) {
      const statements = putEvents(f.workflow.functions[role]);
      expect(statements.flatMap(actionsOf)).toEqual(['events:PutEvents']);
      expect(statements.flatMap(resourcesOf)).toEqual(bus);
      const fn = template.toJSON().Resources[logicalId(f.workflow.functions[role])].Properties;
      expect(fn.Environment.Variables).toEqual(expect.objectContaining({
        EVENT_BUS_NAME: 'default', EVENT_SOURCE: 'cdk-production-patterns.agent-workflow', WORKFLOW_NAME: 'insurance-claims',
      }));
    }
  });

  test('the end of a decided execution: Record Outcome → Progress Completed (the last state, output = the verdict); if the event fails, Result', () => {
    expect(states['Record Outcome'].Next).toBe('Progress Completed');
    const completed = states['Progress Completed'];
    expect(completed).toEqual(expect.objectContaining({ End: true, OutputPath: '$.verdict', ResultPath: null }));
    expect(completed.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Result' }]);
    expect(states.Result).toEqual({ Type: 'Pass', OutputPath: '$.verdict', End: true });
    expect(states.Done).toBeUndefined();
    // every verdict that reaches Record Outcome builds the output
    const verdicts = Object.entries(states).filter(([, st]) => st.Type === 'Pass' && st.ResultPath === '$.verdict' && st.Next === 'Record Outcome');
    expect(verdicts.map(([n]) => n).sort()).toEqual(expect.arrayContaining(['Approval Timed Out', 'Approved after Escalation', 'Approved by Human', 'Auto Reject 1', 'Rejected by Human']));
    for (const [, st] of verdicts) {
      expect(st.Parameters).toEqual(expect.objectContaining({ 'executionId.$': '$$.Execution.Id', 'fields.$': '$.reasoning.fields', 'artifactKey.$': '$.reasoning.artifactKey' }));
      expect(Object.keys(st.Parameters).map((k) => k.replace(/\.\$$/, '')).sort()).toEqual([
        'approvalId', 'approver', 'approverName', 'artifactKey', 'comment', 'decidedAt', 'executionId', 'fields', 'outcome', 'reason', 'route',
      ]);
    }
  });

  // ---- alarms

  test('alarms: failed and timed-out executions, old pending approvals, model throttles, schema violations, handler errors, trigger DLQ', () => {
    const wf = f.workflow;
    const sm = { Ref: logicalId(wf.stateMachine) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States', MetricName: 'ExecutionsFailed', Dimensions: [{ Name: 'StateMachineArn', Value: sm }], Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States', MetricName: 'ExecutionsTimedOut', Dimensions: [{ Name: 'StateMachineArn', Value: sm }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CdkProductionPatterns/AgentWorkflow',
      MetricName: 'OldestPendingApprovalAgeSeconds',
      Dimensions: [{ Name: 'Workflow', Value: 'insurance-claims' }],
      Threshold: 86400,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Bedrock', MetricName: 'InvocationThrottles', Dimensions: [{ Name: 'ModelId', Value: 'us.amazon.nova-pro-v1:0' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CdkProductionPatterns/AgentWorkflow',
      MetricName: 'SchemaViolations',
      Dimensions: Match.arrayWith([{ Name: 'Workflow', Value: 'insurance-claims' }]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(wf.triggerDeadLetterQueue!), 'QueueName'] } }],
    });
    const roles = ['validator', 'reasoner', 'starter', 'approvalRequest', 'approvalEndpoint', 'approvalMonitor'];
    for (const role of roles) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(wf.functions[role]) } }],
      });
    }
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(wf.alarms.length);
  });

  test('every alarm notifies the alarm topic', () => {
    const alarms = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(12);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: logicalId(f.alarms) }]);
  });

  // ---- trigger

  test('trigger: S3 Object Created under claims/ in the uploads bucket → SQS queue (with a DLQ on the rule target)', () => {
    const wf = f.workflow;
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.s3'],
        'detail-type': ['Object Created'],
        'detail': { bucket: { name: [{ Ref: logicalId(f.uploads) }] }, object: { key: [{ prefix: 'claims/' }] } },
      },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [logicalId(wf.triggerQueue!), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(wf.triggerDeadLetterQueue!), 'Arn'] } },
      })],
    });
  });

  test('trigger: the queue redrives to its DLQ; the starter reports batch item failures', () => {
    const wf = f.workflow;
    const queue = template.toJSON().Resources[logicalId(wf.triggerQueue!)].Properties;
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(wf.triggerDeadLetterQueue!), 'Arn'] }, maxReceiveCount: 5 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(wf.triggerQueue!), 'Arn'] },
      FunctionName: { Ref: logicalId(wf.functions.starter) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  // ---- approval endpoint

  test('approval endpoint: GET and POST on /approvals/{id}, throttled stage with access logs', () => {
    const resources = template.toJSON().Resources;
    const byPath = Object.entries<any>(template.findResources('AWS::ApiGateway::Resource'));
    const [approvalsId] = byPath.find(([, r]) => r.Properties.PathPart === 'approvals')!;
    const [idId, idRes] = byPath.find(([, r]) => r.Properties.PathPart === '{id}')!;
    expect(idRes.Properties.ParentId).toEqual({ Ref: approvalsId });
    const methods = Object.values<any>(template.findResources('AWS::ApiGateway::Method')).filter((m) => m.Properties.ResourceId?.Ref === idId);
    expect(methods.map((m) => m.Properties.HttpMethod).sort()).toEqual(['GET', 'POST']);
    for (const m of methods) {
      expect(m.Properties.AuthorizationType).toBe('NONE');
      expect(m.Properties.Integration).toEqual(expect.objectContaining({ Type: 'AWS_PROXY' }));
      expect(render(m.Properties.Integration.Uri)).toContain(logicalId(f.workflow.functions.approvalEndpoint!));
    }
    const stage = Object.values<any>(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    expect(stage.MethodSettings).toEqual([expect.objectContaining({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 })]);
    expect(stage.AccessLogSetting?.DestinationArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ClaimsApprovalApiAccessLogs/), 'Arn'] });
    expect(resources[stage.AccessLogSetting.DestinationArn['Fn::GetAtt'][0]].Type).toBe('AWS::Logs::LogGroup');
  });

  // ---- AWS Control Tower proactive controls

  test('execution logging at ERROR for every method, never the request data (CT.APIGATEWAY.PR.1)', () => {
    const stage = Object.values<any>(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    expect(stage.MethodSettings).toEqual([expect.objectContaining({ HttpMethod: '*', ResourcePath: '/*', LoggingLevel: 'ERROR', DataTraceEnabled: false })]);
  });

  test('the execution log group exists before the stage, named as API Gateway names it, with the retention and the key', () => {
    const [stageId, stage] = Object.entries<any>(template.findResources('AWS::ApiGateway::Stage'))[0];
    const [groupId, group] = Object.entries<any>(template.findResources('AWS::Logs::LogGroup'))
      .find(([id]) => id.startsWith('ClaimsApprovalApiExecutionLogs'))!;
    expect(render(group.Properties.LogGroupName)).toBe(`API-Gateway-Execution-Logs_<${logicalId(f.workflow.approvalApi!)}>/v1`);
    expect(group.Properties.RetentionInDays).toBe(365);
    expect(render(group.Properties.KmsKeyId)).toBe(keyArn);
    expect(stage.DependsOn).toContain(groupId);
    expect(stageId).toMatch(/^ClaimsApprovalApiDeploymentStagev1/);
  });

  test('every log group of the workflow is encrypted with the key, which lets CloudWatch Logs use it (CT.CLOUDWATCH.PR.3)', () => {
    const groups = Object.entries<any>(template.findResources('AWS::Logs::LogGroup')).filter(([id]) => id.startsWith('Claims'));
    // seven handlers, the state machine, the approval API's access and execution logs
    expect(groups.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'ClaimsApprovalApiAccessLogs', 'ClaimsApprovalApiExecutionLogs', 'ClaimsApprovalEndpointLogs', 'ClaimsApprovalMonitorLogs',
      'ClaimsApprovalRequestLogs', 'ClaimsReasonerLogs', 'ClaimsStarterLogs', 'ClaimsStateMachineLogs', 'ClaimsValidatorLogs',
    ]);
    for (const [id, g] of groups) expect({ id, key: render(g.Properties.KmsKeyId) }).toEqual({ id, key: keyArn });
    const keyPolicy: any[] = template.toJSON().Resources[logicalId(f.key)].Properties.KeyPolicy.Statement;
    expect(keyPolicy.filter((st) => st.Principal?.Service === 'logs.us-east-1.amazonaws.com')).toHaveLength(1);
  });

  test('API Gateway may invoke the endpoint for the two methods only, from this account (CT.LAMBDA.PR.2); no test-invoke permissions', () => {
    const fromApi = Object.values<any>(template.findResources('AWS::Lambda::Permission')).filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com');
    expect(fromApi).toHaveLength(2);
    for (const p of fromApi) {
      expect(p.Properties.SourceAccount).toBe('123456789012');
      expect(render(p.Properties.FunctionName)).toBe(`<${logicalId(f.workflow.functions.approvalEndpoint!)}.Arn>`);
      expect(render(p.Properties.SourceArn)).toMatch(/^arn:aws:execute-api:us-east-1:123456789012:<ClaimsApprovalApi[0-9A-F]{8}>\/<ClaimsApprovalApiDeploymentStagev1[0-9A-F]{8}>\/(GET|POST)\/approvals\/\*$/);
    }
  });

  test('every dead-letter queue declares itself one (CT.SQS.PR.1): the trigger queue\'s and the approval monitor\'s', () => {
    const queues = Object.entries<any>(template.findResources('AWS::SQS::Queue'));
    const dlqs = queues.filter(([, q]) => q.Properties.RedriveAllowPolicy);
    expect(dlqs.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['ClaimsApprovalMonitorDeadLetterQueue', 'ClaimsTriggerDeadLetterQueue']);
    for (const [, q] of dlqs) expect(q.Properties.RedriveAllowPolicy).toEqual({ redrivePermission: 'allowAll' });
    // the trigger queue has its dead-letter queue
    const trigger = queues.find(([id]) => id.startsWith('ClaimsTriggerQueue'))![1];
    expect(render(trigger.Properties.RedrivePolicy.deadLetterTargetArn)).toBe(`<${logicalId(f.workflow.triggerDeadLetterQueue!)}.Arn>`);
  });

  test('the handlers run outside any VPC unless handlerVpc is given; the artifact bucket logs no access unless told', () => {
    for (const fn of Object.values<any>(template.findResources('AWS::Lambda::Function'))) expect(fn.Properties.VpcConfig).toBeUndefined();
    expect(template.toJSON().Resources[logicalId(f.workflow.artifactBucket)].Properties.LoggingConfiguration).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// compliance props: handler network, artifact access logs, approval endpoint logging level

describe('StepFunctionsAgentWorkflow: handlers in a VPC, artifact access logs, approval endpoint logging level', () => {
  const build = (overrides: Partial<StepFunctionsAgentWorkflowProps> = {}, withVpc = true) => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, restrictDefaultSecurityGroup: false });
    vpc.addFlowLog('FlowLog');
    const uploads = uploadsBucket(stack);
    const wf = new StepFunctionsAgentWorkflow(stack, 'Claims', {
      trigger: AgentTrigger.s3ObjectCreated(uploads, { prefix: 'in/' }),
      validation: IMAGES,
      reasoning: reasoning(),
      approval: ApprovalPolicy.always(HumanApproval.notify(new sns.Topic(stack, 'Approvers', { enforceSSL: true }), {
        timeout: Duration.hours(6), signingKeyRotation: Duration.days(30),
      })),
      ...(withVpc ? { handlerVpc: vpc } : {}),
      ...overrides,
    });
    return { stack, vpc, wf, template: Template.fromStack(stack), uploads };
  };

  test('handlerVpc puts every handler of the workflow in the private subnets (CT.LAMBDA.PR.3); cdk-nag stays clean', () => {
    const { stack, vpc, wf, template } = build();
    const own = Object.values(wf.functions);
    expect(Object.keys(wf.functions).sort()).toEqual(['approvalEndpoint', 'approvalMonitor', 'approvalRequest', 'reasoner', 'signingKeyRotation', 'starter', 'validator']);
    const privateSubnets = vpc.privateSubnets.map((sn) => ({ Ref: stack.getLogicalId(sn.node.defaultChild as ec2.CfnSubnet) }));
    for (const fn of own) {
      const props = template.toJSON().Resources[logicalId(fn)].Properties;
      expect({ fn: fn.node.id, subnets: props.VpcConfig?.SubnetIds }).toEqual({ fn: fn.node.id, subnets: privateSubnets });
      expect(props.VpcConfig.SecurityGroupIds).toHaveLength(1);
    }
    // aws-cdk-lib's bucket-notifications handler (EventBridge on the trigger bucket) takes no VPC
    const outside = Object.entries<any>(template.findResources('AWS::Lambda::Function')).filter(([, r]) => !r.Properties.VpcConfig).map(([id]) => id);
    expect(outside).toEqual([expect.stringMatching(/^BucketNotificationsHandler/)]);
    expectNoUnsuppressedNagErrors(stack);
  });

  test('given security groups are shared by the handlers', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const sg = new ec2.SecurityGroup(stack, 'HandlersSg', { vpc });
    const wf = new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack, {
      handlerVpc: vpc, handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, handlerSecurityGroups: [sg],
    }));
    const t = Template.fromStack(stack);
    for (const fn of Object.values(wf.functions)) {
      expect(t.toJSON().Resources[logicalId(fn)].Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [logicalId(sg), 'GroupId'] }]);
    }
    t.resourceCountIs('AWS::EC2::SecurityGroup', 1);
  });

  test.each<[string, (stack: Stack) => Partial<StepFunctionsAgentWorkflowProps>, RegExp]>([
    ['security groups without handlerVpc', (stack) => ({ handlerSecurityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-12345678')] }),
      /S\/Claims: invalid prop 'handlerVpc': is required when handlerSecurityGroups is given/],
    ['artifactAccessLogsBucket with artifactBucket', (stack) => ({
      artifactBucket: s3.Bucket.fromBucketName(stack, 'Mine', 'my-artifacts'), artifactAccessLogsBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'my-logs'),
    }), /S\/Claims: invalid prop 'artifactAccessLogsBucket': applies to the artifact bucket the workflow creates/],
  ])('validation: %s', (_name, props, message) => {
    const stack = newStack();
    expect(() => new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack, props(stack)))).toThrow(message);
  });

  test('artifactAccessLogsBucket: the created artifact bucket logs access under the workflow name (CT.S3.PR.2, AwsSolutions-S1 not acknowledged)', () => {
    const stack = newStack();
    const accessLogs = new s3.Bucket(stack, 'ArtifactAccessLogs', { enforceSSL: true });
    const wf = new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack, { workflowName: 'claims', artifactAccessLogsBucket: accessLogs }));
    const bucket = Template.fromStack(stack).toJSON().Resources[logicalId(wf.artifactBucket)];
    expect(bucket.Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logicalId(accessLogs) }, LogFilePrefix: 'claims/' });
    const acks = JSON.stringify(wf.artifactBucket.node.defaultChild!.node.metadata.concat(wf.artifactBucket.node.metadata));
    expect(acks).not.toContain('AwsSolutions-S1');
  });

  test('approvalEndpointLoggingLevel OFF: no execution logging, no execution log group, the cdk-nag finding acknowledged', () => {
    const { stack, template } = build({ approvalEndpointLoggingLevel: apigw.MethodLoggingLevel.OFF }, false);
    const stage = Object.values<any>(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    expect(stage.MethodSettings).toEqual([expect.not.objectContaining({ LoggingLevel: expect.anything() })]);
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) => id.includes('ExecutionLogs'))).toEqual([]);
    expectNoUnsuppressedNagErrors(stack);
  });

  test('approvalEndpointLoggingLevel INFO', () => {
    const { template } = build({ approvalEndpointLoggingLevel: apigw.MethodLoggingLevel.INFO }, false);
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', LoggingLevel: 'INFO', DataTraceEnabled: false })],
    });
  });

  test('an imported key encrypts the state machine\'s and the API\'s log groups too, with the warning about its policy', () => {
    const stack = newStack();
    const key = kms.Key.fromKeyArn(stack, 'Imported', 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555');
    new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack, {
      encryptionKey: key,
      approval: ApprovalPolicy.always(HumanApproval.notify(new sns.Topic(stack, 'Approvers'), { timeout: Duration.hours(6) })),
    }));
    const groups = Object.entries<any>(Template.fromStack(stack).findResources('AWS::Logs::LogGroup'));
    for (const id of ['ClaimsStateMachineLogs', 'ClaimsApprovalApiAccessLogs', 'ClaimsApprovalApiExecutionLogs']) {
      expect(groups.find(([gid]) => gid.startsWith(id))![1].Properties.KmsKeyId).toBe(key.keyArn);
    }
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('cdk-production-patterns:importedKeyForHandlerLogs'))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// minimal: manual trigger, no approval, no tools, no key, Claude through the reasoner Lambda

describe('StepFunctionsAgentWorkflow: minimal configuration (manual trigger, no approval, no tools)', () => {
  let stack: Stack;
  let wf: StepFunctionsAgentWorkflow;
  let template: Template;
  let definition: any;

  beforeAll(() => {
    stack = newStack();
    wf = new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack));
    template = Template.fromStack(stack);
    definition = definitionFromTemplate(template);
  });

  test('zero unsuppressed cdk-nag errors; no wildcard actions', () => {
    expectNoUnsuppressedNagErrors(stack);
    expectNoWildcardActions(template);
  });

  test('a plain foundation model: the reasoner may invoke exactly its ARN; the state machine calls no model', () => {
    expect(bedrockResources(statementsOf(template, roleOf(wf.functions.reasoner)))).toEqual([CLAUDE_ARN]);
    expect(bedrockResources(statementsOf(template, wf.stateMachine.role))).toEqual([]);
  });

  test('the model is called by the reasoner Lambda, retried on throttling with backoff 2 and full jitter', () => {
    const reason = statesOf(definition).Reason;
    expect(reason.Resource).toContain(logicalId(wf.functions.reasoner));
    const throttling = reason.Retry.find((r: any) => r.ErrorEquals.includes('ThrottlingException'));
    expect(throttling).toEqual(expect.objectContaining({ BackoffRate: 2, JitterStrategy: 'FULL' }));
  });

  test('the definition is valid Amazon States Language', () => {
    expectValidAsl(definition);
  });

  test('S3 reads are scoped to the manual trigger prefix in/', () => {
    const reads = allStatements(template).filter(({ st }) => actionsOf(st).includes('s3:GetObject'));
    expect(reads.length).toBe(2); // validator and reasoner (image bytes)
    for (const { st } of reads) expect(resourcesOf(st)).toEqual([`<${logicalId(stack.node.findChild('ClaimUploads'))}.Arn>/in/*`]);
  });

  test('manual trigger: no rule, no queue, no starter', () => {
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::SQS::Queue', 0);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
    expect(wf.functions.starter).toBeUndefined();
    expect(wf.triggerQueue).toBeUndefined();
    expect(wf.triggerDeadLetterQueue).toBeUndefined();
  });

  test('no approval: no API, no approvals table, no signing secret', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(wf.approvalsTable).toBeUndefined();
    expect(wf.approvalUrl).toBeUndefined();
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table')).sort()).toEqual([logicalId(wf.auditTable), logicalId(wf.contextTable)].sort());
  });

  test('the Lambda image-bytes path with maxSize above 3.75 MB (default 5 MiB) warns', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('agentWorkflowImageLimitAboveConverse'))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// no key: AWS managed/owned encryption; prefix + suffix; IAM auth; execution data logged; custom pending-approval alarm age

describe('StepFunctionsAgentWorkflow: without a customer key, prefix+suffix trigger, IAM auth, no alarm topic', () => {
  let stack: Stack;
  let wf: StepFunctionsAgentWorkflow;
  let template: Template;
  let definition: any;

  beforeAll(() => {
    stack = newStack();
    const uploads = uploadsBucket(stack);
    wf = new StepFunctionsAgentWorkflow(stack, 'Claims', {
      trigger: AgentTrigger.s3ObjectCreated(uploads, { prefix: 'in/', suffix: '.jpg' }),
      validation: IMAGES,
      reasoning: reasoning({ modelId: 'amazon.nova-lite-v1:0', invocation: ReasoningInvocation.LAMBDA }),
      approval: ApprovalPolicy.always(HumanApproval.notify(new sns.Topic(stack, 'Approvers'), { timeout: Duration.hours(6) })),
      approvalEndpointAuth: ApprovalEndpointAuth.iam(),
      logExecutionData: true,
      pendingApprovalAlarmAge: Duration.hours(2),
    });
    template = Template.fromStack(stack);
    definition = definitionFromTemplate(template);
  });

  test('tables: AWS managed encryption still on', () => {
    for (const table of [wf.auditTable, wf.contextTable, wf.approvalsTable!]) {
      const sse = template.toJSON().Resources[logicalId(table)].Properties.SSESpecification;
      expect(sse.SSEEnabled).toBe(true);
      expect(sse.KMSMasterKeyId).toBeUndefined();
    }
  });

  test('artifacts bucket: SSE-S3 (AES256)', () => {
    const enc = template.toJSON().Resources[logicalId(wf.artifactBucket)].Properties.BucketEncryption.ServerSideEncryptionConfiguration;
    expect(enc).toEqual([expect.objectContaining({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } })]);
  });

  test('queues: SSE-SQS', () => {
    const queues = Object.values<any>(template.findResources('AWS::SQS::Queue'));
    expect(queues.length).toBeGreaterThanOrEqual(2);
    for (const q of queues) {
      expect(q.Properties.SqsManagedSseEnabled).toBe(true);
      expect(q.Properties.KmsMasterKeyId).toBeUndefined();
    }
  });

  test('secret and state machine: AWS managed / owned keys', () => {
    expect(template.toJSON().Resources[logicalId(wf.signingSecret!)].Properties.KmsKeyId).toBeUndefined();
    const enc = template.toJSON().Resources[logicalId(wf.stateMachine)].Properties.EncryptionConfiguration;
    expect(enc === undefined || enc.Type === 'AWS_OWNED_KEY').toBe(true);
  });

  test('logExecutionData: true includes execution data in the logs', () => {
    const sm = template.toJSON().Resources[logicalId(wf.stateMachine)].Properties;
    expect(sm.LoggingConfiguration).toEqual(expect.objectContaining({ Level: 'ERROR', IncludeExecutionData: true }));
  });

  test('prefix and suffix: the key pattern is one wildcard', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: { bucket: { name: [{ Ref: logicalId(stack.node.findChild('ClaimUploads')) }] }, object: { key: [{ wildcard: 'in/*.jpg' }] } } }),
    });
  });

  test('approvalEndpointAuth IAM: both methods use AWS_IAM', () => {
    const methods = Object.values<any>(template.findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(2);
    for (const m of methods) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  test('explicit Lambda invocation with Nova: only the reasoner may invoke the (single, plain) model', () => {
    expect(bedrockResources(statementsOf(template, wf.stateMachine.role))).toEqual([]);
    expect(bedrockResources(statementsOf(template, roleOf(wf.functions.reasoner)))).toEqual(['arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0']);
    expect(statesOf(definition).Reason.Resource).toContain(logicalId(wf.functions.reasoner));
  });

  test('approval without heartbeat or escalation: timeout 6 h, no HeartbeatSeconds, a timeout is a rejection', () => {
    const states = statesOf(definition);
    const request = states['Request Approval'];
    expect(request.TimeoutSeconds).toBe(21600);
    expect(request.HeartbeatSeconds).toBeUndefined();
    expect(request.Catch.find((c: any) => c.ErrorEquals.includes('States.Timeout')).Next).toBe('Approval Timed Out');
    expect(states['Escalate Approval']).toBeUndefined();
    expect(definition.TimeoutSeconds).toBe(21600 + 3600);
  });

  test('ApprovalPolicy.always: the definition is valid Amazon States Language', () => {
    expectValidAsl(definition);
  });

  test('custom pendingApprovalAlarmAge sets the threshold; without alarmTopic no alarm has actions', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'OldestPendingApprovalAgeSeconds', Threshold: 7200 });
    for (const a of Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'))) expect(a.Properties.AlarmActions).toBeUndefined();
  });

  test('no wildcard actions', () => {
    expectNoWildcardActions(template);
  });
});

// ---------------------------------------------------------------------------------------------
// Cognito auth, no access logs; a customer key that the trigger bucket does not share; a tool table with its own key

describe('StepFunctionsAgentWorkflow: Cognito auth, customer key not shared with the inputs, tool table with its own key', () => {
  let stack: Stack;
  let wf: StepFunctionsAgentWorkflow;
  let template: Template;
  let key: kms.Key;
  let toolKey: kms.Key;
  let pool: cognito.UserPool;

  beforeAll(() => {
    stack = newStack();
    key = new kms.Key(stack, 'WorkflowKey', { enableKeyRotation: true });
    toolKey = new kms.Key(stack, 'ToolKey', { enableKeyRotation: true });
    pool = new cognito.UserPool(stack, 'Approvers');
    const uploads = uploadsBucket(stack); // SSE-S3: grants on the inputs never reach the workflow key
    wf = new StepFunctionsAgentWorkflow(stack, 'Claims', {
      trigger: AgentTrigger.manual(uploads, 'in/'),
      validation: IMAGES,
      reasoning: reasoning({ modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', temperature: undefined }),
      tools: [policyTool(policiesTable(stack, toolKey))],
      approval: ApprovalPolicy.always(HumanApproval.notify(new sns.Topic(stack, 'ApprovalTopic'))),
      approvalEndpointAuth: ApprovalEndpointAuth.cognito(pool),
      approvalEndpointAccessLogs: false,
      encryptionKey: key,
    });
    template = Template.fromStack(stack);
  });

  test('approvalEndpointAuth Cognito: a COGNITO_USER_POOLS authorizer on both methods', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'COGNITO_USER_POOLS',
      ProviderARNs: [{ 'Fn::GetAtt': [logicalId(pool), 'Arn'] }],
    });
    const [authorizerId] = Object.keys(template.findResources('AWS::ApiGateway::Authorizer'));
    const methods = Object.values<any>(template.findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(2);
    for (const m of methods) {
      expect(m.Properties.AuthorizationType).toBe('COGNITO_USER_POOLS');
      expect(m.Properties.AuthorizerId).toEqual({ Ref: authorizerId });
    }
  });

  test('approvalEndpointAccessLogs: false: no access log setting', () => {
    const stage = Object.values<any>(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    expect(stage.AccessLogSetting).toBeUndefined();
  });

  /** Unconditional kms:Decrypt on a key for the state machine role (a kms:ViaService condition is fine). */
  function stateMachineMayDecrypt(keyArn: string): boolean {
    return statementsOf(template, wf.stateMachine.role).some((st) => actionsOf(st).includes('kms:Decrypt')
      && resourcesOf(st).includes(keyArn)
      && Object.keys(st.Condition?.StringEquals ?? {}).every((k) => k === 'kms:ViaService')
      && Object.keys(st.Condition ?? {}).every((k) => k === 'StringEquals'));
  }

  test('the state machine may use the workflow key for its audit writes (the audit table is encrypted with it)', () => {
    // The Record Outcome / Record Failure tasks PutItem into the CMK-encrypted audit table with the state machine role.
    expect(stateMachineMayDecrypt(`<${logicalId(key)}.Arn>`)).toBe(true);
  });

  test('a DynamoDB GetItem tool on a table with its own key: the state machine may decrypt with that key', () => {
    expect(stateMachineMayDecrypt(`<${logicalId(toolKey)}.Arn>`)).toBe(true);
  });

  test('no wildcard actions', () => {
    expectNoWildcardActionsBesidesKeyAdmin(template);
  });
});

// ---------------------------------------------------------------------------------------------
// warnings

describe('StepFunctionsAgentWorkflow: a custom validator keeps the progress states its function cannot send', () => {
  test('Progress Started and Progress Validated around it; its payload asks for no event; it gets no grant; the reasoner still sends', () => {
    const stack = newStack();
    const fn = new lambda.Function(stack, 'MyValidator', {
      runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    const wf = new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack, { validation: InputValidation.lambdaFunction(fn) }));
    const template = Template.fromStack(stack);
    const states = statesOf(definitionFromTemplate(template));
    expect(definitionFromTemplate(template).StartAt).toBe('Progress Started');
    expect(states['Progress Started'].Next).toBe('Validate Input');
    expect(states['Input Valid?'].Choices[0].Next).toBe('Progress Validated');
    expect(states['Progress Validated'].Next).toBe('Reason');
    expect(states['Validate Input'].Parameters.progress).toBeUndefined();
    expect(states.Reason.Parameters.progress).toEqual({ 'executionId.$': '$$.Execution.Id' });
    expect(statementsOf(template, roleOf(fn)).flatMap(actionsOf)).not.toContain('events:PutEvents');
    expect(statementsOf(template, roleOf(wf.functions.reasoner)).flatMap(actionsOf)).toContain('events:PutEvents');
    // no GetItem tool: the digest answers the digest alone, nothing to place
    expect(states['Digest Tool Results'].Parameters.projections).toBeUndefined();
    expect(states['Digest Tool Results'].Next).toBe('Auto Approve');
  });
});

describe('StepFunctionsAgentWorkflow: synth-time warnings', () => {
  test('more than 5 tools and an imported trigger bucket warn; a small image limit on the bytes path does not', () => {
    const stack = newStack();
    const fn = lambda.Function.fromFunctionArn(stack, 'ToolFn', 'arn:aws:lambda:us-east-1:123456789012:function:tool');
    new StepFunctionsAgentWorkflow(stack, 'Claims', {
      trigger: AgentTrigger.s3ObjectCreated(s3.Bucket.fromBucketName(stack, 'Imported', 'imported-uploads'), { prefix: 'in/' }),
      validation: InputValidation.s3Object({ maxSize: Size.mebibytes(3) }),
      reasoning: reasoning({ modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', temperature: undefined }),
      tools: ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => AgentTool.lambdaFunction(n, fn)),
    });
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('6 tools'))).toHaveLength(1);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('trigger bucket is imported'))).toHaveLength(1);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('agentWorkflowImageLimitAboveConverse'))).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------
// defects fixed in the split (issue 14, section 1): each test failed before its fix

describe('StepFunctionsAgentWorkflow: image-size warning with a maxSize that is not a whole number of MiB', () => {
  test('Size.kibibytes(4500) on the image-bytes path warns (with the size in MiB) instead of throwing at synth', () => {
    const stack = newStack();
    expect(() => new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack, {
      validation: InputValidation.s3Object({ maxSize: Size.kibibytes(4500) }),
    }))).not.toThrow();
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('agentWorkflowImageLimitAboveConverse'));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0].entry.data)).toContain('validation.maxSize is 4.39 MiB');
  });
});

describe('StepFunctionsAgentWorkflow: the trigger dead-letter queue is built like every handler DLQ', () => {
  let stack: Stack;
  let wf: StepFunctionsAgentWorkflow;
  let template: Template;
  let key: kms.Key;

  beforeAll(() => {
    // a customer key and an S3 trigger, without approval (the approval monitor's DLQ would grant the key on its own)
    stack = newStack();
    key = new kms.Key(stack, 'WorkflowKey', { enableKeyRotation: true });
    wf = new StepFunctionsAgentWorkflow(stack, 'Claims', {
      trigger: AgentTrigger.s3ObjectCreated(uploadsBucket(stack, key), { prefix: 'in/' }),
      validation: IMAGES,
      reasoning: reasoning(),
      encryptionKey: key,
    });
    template = Template.fromStack(stack);
  });

  test('EventBridge may use the key to deliver dead letters (the rule target\'s DLQ is encrypted with it)', () => {
    const dlq = template.toJSON().Resources[logicalId(wf.triggerDeadLetterQueue!)].Properties;
    expect(render(dlq.KmsMasterKeyId)).toBe(`<${logicalId(key)}.Arn>`);
    const statements: any[] = template.toJSON().Resources[logicalId(key)].Properties.KeyPolicy.Statement;
    // the shared helper's grant (the trigger queue's SqsQueue target grants its own, broader one for the queue itself)
    const forEvents = statements.filter((st) => st.Principal?.Service === 'events.amazonaws.com').map((st) => [...actionsOf(st)].sort());
    expect(forEvents).toContainEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
  });

  test('the DLQ: TLS only, 14 days, its own redrive findings acknowledged; zero unsuppressed cdk-nag errors', () => {
    const dlq = template.toJSON().Resources[logicalId(wf.triggerDeadLetterQueue!)].Properties;
    expect(dlq.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expectNoUnsuppressedNagErrors(stack);
  });
});
