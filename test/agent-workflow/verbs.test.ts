import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { fullStack, FullStack, minimalProps, newStack, NOVA_PRO_PROFILE } from './workflow-fixtures';
import { StepFunctionsAgentWorkflow } from '../../src';
import { METRIC } from '../../src/agent-workflow/runtime/contracts';

// Every grant* and metric* method of StepFunctionsAgentWorkflow.

const list = (v: unknown): any[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** The identity-policy statements of a role, resolved. */
function statementsOf(stack: Stack, role: iam.Role): any[] {
  const roleId = stack.getLogicalId(role.node.defaultChild as any);
  return Object.values<any>(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
    .filter((p) => list(p.Properties.Roles).some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function idOf(stack: Stack, c: any): string {
  return stack.getLogicalId(c.node.defaultChild);
}

function rendered(stack: Stack, metric: cloudwatch.Metric) {
  const config = metric.toMetricConfig().metricStat!;
  return {
    namespace: config.namespace,
    metricName: config.metricName,
    dimensions: Object.fromEntries((config.dimensions ?? []).map((d) => [d.name, stack.resolve(d.value)])),
    statistic: config.statistic,
    period: config.period.toSeconds(),
  };
}

describe('StepFunctionsAgentWorkflow grants', () => {
  test('grantStartExecution: states:StartExecution on this state machine only', () => {
    const stack = newStack();
    const wf = new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack));
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    const grant = wf.grantStartExecution(role);
    expect(grant.success).toBe(true);
    expect(statementsOf(stack, role)).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: idOf(stack, wf.stateMachine) } }]);
  });

  test('grantReadAudit: read the audit table and the answer artifacts (artifacts/*), nothing to write', () => {
    const stack = newStack();
    const wf = new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack));
    const role = new iam.Role(stack, 'Auditor', { assumedBy: new iam.AccountRootPrincipal() });
    wf.grantReadAudit(role);
    const statements = statementsOf(stack, role);
    const actions = statements.flatMap((st) => list(st.Action));
    expect(actions.filter((a) => /:(Put|Update|Delete|BatchWrite)/.test(a))).toEqual([]);
    const audit = statements.find((st) => list(st.Action).includes('dynamodb:Query'));
    expect(list(audit.Action)).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchGetItem']));
    expect(list(audit.Resource)).toContainEqual({ 'Fn::GetAtt': [idOf(stack, wf.auditTable), 'Arn'] });
    const artifacts = statements.find((st) => list(st.Action).includes('s3:GetObject*'));
    expect(list(artifacts.Resource)).toContainEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [idOf(stack, wf.artifactBucket), 'Arn'] }, '/artifacts/*']] });
    // the validated-input copies under inputs/ are not part of the audit trail
    expect(JSON.stringify(statements)).not.toContain('inputs/');
  });

  test('grantReadAudit with a customer key: the key may decrypt for the reader', () => {
    const f: FullStack = fullStack();
    const role = new iam.Role(f.stack, 'Auditor', { assumedBy: new iam.AccountRootPrincipal() });
    f.workflow.grantReadAudit(role);
    const decrypt = statementsOf(f.stack, role).filter((st) => list(st.Action).includes('kms:Decrypt'));
    expect(decrypt.flatMap((st) => list(st.Resource))).toContainEqual({ 'Fn::GetAtt': [idOf(f.stack, f.key), 'Arn'] });
  });
});

describe('StepFunctionsAgentWorkflow metrics', () => {
  let stack: Stack;
  let wf: StepFunctionsAgentWorkflow;
  beforeAll(() => {
    stack = newStack();
    wf = new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack, { workflowName: 'claims' }));
  });

  test('metricExecutionsFailed / metricExecutionsTimedOut: AWS/States, by state machine, Sum over 5 minutes', () => {
    const arn = stack.resolve(wf.stateMachine.stateMachineArn);
    expect(rendered(stack, wf.metricExecutionsFailed())).toEqual({
      namespace: 'AWS/States', metricName: 'ExecutionsFailed', dimensions: { StateMachineArn: arn }, statistic: 'Sum', period: 300,
    });
    expect(rendered(stack, wf.metricExecutionsTimedOut())).toEqual({
      namespace: 'AWS/States', metricName: 'ExecutionsTimedOut', dimensions: { StateMachineArn: arn }, statistic: 'Sum', period: 300,
    });
  });

  test.each([
    ['metricOldestPendingApprovalAge', METRIC.oldestPendingApprovalAgeSeconds, 'Maximum'],
    ['metricPendingApprovals', METRIC.pendingApprovals, 'Maximum'],
  ] as const)('%s: the handlers\' namespace, by workflow, over 15 minutes', (method, name, statistic) => {
    expect(rendered(stack, wf[method]())).toEqual({
      namespace: StepFunctionsAgentWorkflow.METRICS_NAMESPACE, metricName: name, dimensions: { Workflow: 'claims' }, statistic, period: 900,
    });
  });

  test.each([
    ['metricInputTokens', METRIC.inputTokens],
    ['metricOutputTokens', METRIC.outputTokens],
    ['metricSchemaViolations', METRIC.schemaViolations],
  ] as const)('%s: the handlers\' namespace, by workflow and model, Sum over 15 minutes', (method, name) => {
    expect(rendered(stack, wf[method]())).toEqual({
      namespace: StepFunctionsAgentWorkflow.METRICS_NAMESPACE,
      metricName: name,
      dimensions: { Workflow: 'claims', ModelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0' },
      statistic: 'Sum',
      period: 900,
    });
  });

  test('metricModelThrottles: AWS/Bedrock InvocationThrottles of the model, Sum over 5 minutes', () => {
    expect(rendered(stack, wf.metricModelThrottles())).toEqual({
      namespace: 'AWS/Bedrock', metricName: 'InvocationThrottles', dimensions: { ModelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }, statistic: 'Sum', period: 300,
    });
  });

  test('options override the defaults (period, statistic, label)', () => {
    const m = wf.metricInputTokens({ period: Duration.hours(1), statistic: 'Average', label: 'tokens in' });
    expect(rendered(stack, m)).toEqual(expect.objectContaining({ statistic: 'Average', period: 3600 }));
    expect(m.label).toBe('tokens in');
    expect(rendered(stack, wf.metricModelThrottles({ period: Duration.minutes(1) })).period).toBe(60);
  });

  test('the workflow name defaults to one derived from the construct path; a profile id is the ModelId dimension as given', () => {
    const s = newStack();
    const w = new StepFunctionsAgentWorkflow(s, 'Claims', minimalProps(s, {}));
    expect(w.workflowName).toMatch(/^SClaims/);
    expect(rendered(s, w.metricPendingApprovals()).dimensions).toEqual({ Workflow: w.workflowName });
    const f = fullStack();
    expect(rendered(f.stack, f.workflow.metricModelThrottles()).dimensions).toEqual({ ModelId: NOVA_PRO_PROFILE });
  });
});

describe('named alarms', () => {
  test('a workflow with an S3 trigger and human approval: every alarm is a named property or a handler error alarm, all in the list', () => {
    const { workflow: wf } = fullStack();
    const named = [
      wf.executionsFailedAlarm, wf.executionsTimedOutAlarm, wf.executionsThrottledAlarm, wf.modelThrottlesAlarm, wf.schemaViolationsAlarm,
      wf.pendingApprovalAgeAlarm!, wf.triggerDeadLettersAlarm!,
    ];
    const ids = (alarms: cloudwatch.IAlarm[]) => alarms.map((a) => (a as unknown as cloudwatch.Alarm).node.id);
    expect(ids(named)).toEqual([
      'ExecutionsFailedAlarm', 'ExecutionsTimedOutAlarm', 'ExecutionsThrottledAlarm', 'ModelThrottlesAlarm', 'SchemaViolationsAlarm',
      'PendingApprovalAgeAlarm', 'TriggerDeadLettersAlarm',
    ]);
    for (const a of named) expect(wf.alarms).toContain(a);
    expect(ids(wf.alarms.filter((a) => !named.includes(a))).every((id) => id.endsWith('ErrorsAlarm'))).toBe(true);
  });

  test('without approval and trigger, the optional alarms are absent', () => {
    const stack = newStack();
    const wf = new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack));
    expect(wf.pendingApprovalAgeAlarm).toBeUndefined();
    expect(wf.executionsFailedAlarm).toBeDefined();
  });
});
