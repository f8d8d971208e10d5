import { Duration, Size, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { CLAIM_SCHEMA, CLAUDE, IMAGES, minimalProps, newStack, NOVA_PRO_PROFILE, policyTool, reasoning } from './workflow-fixtures';
import {
  AgentField, AgentTool, ApprovalPolicy, ApprovalTimeout, DecisionCondition, DynamoProjection, HumanApproval, HumanApprovalOptions,
  InputValidation, ReasoningInvocation, StepFunctionsAgentWorkflow, StepFunctionsAgentWorkflowProps,
} from '../../src';

// Synth-time validation: every error is thrown while the construct is built (no synthesis needed).

/** Builds the workflow 'W' in a fresh stack 'S' from the minimal props plus overrides. */
function build(overrides: (stack: Stack) => Partial<StepFunctionsAgentWorkflowProps>): StepFunctionsAgentWorkflow {
  const stack = newStack();
  return new StepFunctionsAgentWorkflow(stack, 'W', minimalProps(stack, overrides(stack)));
}

function approval(stack: Stack, options: HumanApprovalOptions): ApprovalPolicy {
  return ApprovalPolicy.always(HumanApproval.notify(new sns.Topic(stack, 'Approvers'), options));
}

const importedTable = (stack: Stack) => dynamodb.Table.fromTableName(stack, 'Policies', 'policies');

describe('StepFunctionsAgentWorkflow: synth-time validation errors name the prop', () => {
  test('outputSchema with $ref', () => {
    const outputSchema = { type: 'object', properties: { cost: { $ref: '#/definitions/money' } } };
    expect(() => build(() => ({ reasoning: reasoning({ modelId: CLAUDE, outputSchema }) })))
      .toThrow(/^S\/W: invalid prop 'reasoning\.outputSchema': .*\$ref/);
  });

  test('outputSchema whose top level is not an object', () => {
    const outputSchema = { type: 'array', items: { type: 'string' } };
    expect(() => build(() => ({ reasoning: reasoning({ modelId: CLAUDE, outputSchema }) })))
      .toThrow(/invalid prop 'reasoning\.outputSchema': .*top level must have type 'object'/);
  });

  test('a condition reading an output field the schema does not declare', () => {
    expect(() => build(() => ({
      approval: ApprovalPolicy.never({ rejectWhen: [DecisionCondition.greaterThan(AgentField.output('repair_cost'), 10)] }),
    }))).toThrow(/invalid prop 'approval': .*'repair_cost', which outputSchema does not declare/);
  });

  test.each([
    ['damaged_parts', 'array'],
    ['details', 'object'],
  ])('a condition reading the %s field (%s) of the answer', (field, type) => {
    expect(CLAIM_SCHEMA.properties).toHaveProperty(field);
    expect(() => build(() => ({
      approval: ApprovalPolicy.never({ rejectWhen: [DecisionCondition.stringEquals(AgentField.output(field), 'x')] }),
    }))).toThrow(new RegExp(`invalid prop 'approval': .*'${field}' of type ${type}`));
  });

  test('a condition reading a tool that is not in tools', () => {
    expect(() => build(() => ({
      approval: ApprovalPolicy.never({ rejectWhen: [DecisionCondition.greaterThan(AgentField.tool('policy', 'coverageLimit'), 1)] }),
    }))).toThrow(/invalid prop 'approval': .*reads tool 'policy', which is not in tools/);
  });

  test('a condition reading a declared scalar field of a tool in tools is accepted', () => {
    const wf = build((stack) => ({
      tools: [policyTool(importedTable(stack))],
      approval: ApprovalPolicy.never({
        rejectWhen: [DecisionCondition.greaterThanField(AgentField.output('estimated_cost'), AgentField.tool('policy', 'coverageLimit'))],
      }),
    }));
    expect(wf.stateMachine).toBeDefined();
  });

  test('two tools with the same name', () => {
    expect(() => build((stack) => ({ tools: [policyTool(importedTable(stack)), policyTool(dynamodb.Table.fromTableName(stack, 'Other', 'other'))] })))
      .toThrow(/invalid prop 'tools': two tools are named 'policy'/);
  });

  test('ReasoningInvocation.SDK_INTEGRATION with a Claude model', () => {
    expect(() => build(() => ({
      validation: IMAGES,
      reasoning: reasoning({ modelId: CLAUDE, invocation: ReasoningInvocation.SDK_INTEGRATION }),
    }))).toThrow(/invalid prop 'reasoning\.invocation': .*anthropic\.claude/);
  });

  test('ReasoningInvocation.SDK_INTEGRATION with application/pdf among the content types', () => {
    expect(() => build(() => ({
      validation: InputValidation.s3Object({ contentTypes: ['image/png', 'application/pdf'] }),
      reasoning: reasoning({ invocation: ReasoningInvocation.SDK_INTEGRATION }),
    }))).toThrow(/invalid prop 'validation\.contentTypes'/);
  });

  test('ReasoningInvocation.SDK_INTEGRATION with more than 4000 answer tokens (the raw answer passes through the state)', () => {
    expect(() => build(() => ({
      validation: IMAGES,
      reasoning: reasoning({ invocation: ReasoningInvocation.SDK_INTEGRATION, maxTokens: 8000 }),
    }))).toThrow(/invalid prop 'reasoning\.maxTokens': the SDK integration .* at most 4000 tokens/);
  });

  test('ReasoningInvocation.SDK_INTEGRATION with a backslash in a prompt with placeholders', () => {
    expect(() => build(() => ({
      validation: IMAGES,
      reasoning: reasoning({ invocation: ReasoningInvocation.SDK_INTEGRATION, prompt: 'Path C:\\claims for {{key}}' }),
    }))).toThrow(/invalid prop 'reasoning\.prompt'/);
  });

  const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  test.each([
    ['{{nonsense}}', 'Assess {{nonsense}} now.', '{{nonsense}}', ''],
    ['a spaced unknown name', 'Claim {{ key }} of {{ customer }}.', '{{ customer }}', ''],
    ['a metadata name that is not normalized', 'Policy {{metadata.Policy-Id}}.', '{{metadata.Policy-Id}}', ' (did you mean {{metadata.policy_id}}?)'],
    ['metadata without a name', 'Policy {{metadata.}}.', '{{metadata.}}', ''],
    ['a key segment (not a placeholder)', 'Policy {{keySegment.1}}.', '{{keySegment.1}}', ''],
    ['an empty placeholder', 'Policy {{}}.', '{{}}', ''],
  ])('an unknown prompt placeholder is an error naming it and the allowed ones, in both invocation modes: %s', (_name, prompt, unknown, hint) => {
    const message = new RegExp(`^S/W: invalid prop 'reasoning\\.prompt': unknown placeholder '${escapeRe(unknown)}'${escapeRe(hint)}: `
      + `the allowed placeholders are ${escapeRe('{{key}}, {{bucket}}, {{contentType}} and {{metadata.<name>}}')}`);
    expect(() => build(() => ({ reasoning: reasoning({ modelId: CLAUDE, prompt }) }))).toThrow(message);
    expect(() => build(() => ({ validation: IMAGES, reasoning: reasoning({ invocation: ReasoningInvocation.SDK_INTEGRATION, prompt }) })))
      .toThrow(message);
  });

  test('known placeholders (spaced or not), braces around them and unclosed braces are accepted', () => {
    for (const prompt of ['{{key}} {{ bucket }} {{contentType}} {{ metadata.policy_id }}', 'JSON like {{{key}}}', 'Literal {{ braces', 'a } b { c']) {
      expect(() => build(() => ({ reasoning: reasoning({ modelId: CLAUDE, prompt }) }))).not.toThrow();
    }
  });

  test.each([
    ['validation.requiredKeySegments', { requiredKeySegments: [1, 20] }, 'got 20'],
    ['validation.requiredKeySegments', { requiredKeySegments: [-1] }, 'got -1'],
    ['validation.actorIdKeySegment', { actorIdKeySegment: 1.5 }, 'got 1.5'],
    ['validation.actorIdKeySegment', { actorIdKeySegment: 20 }, 'got 20'],
  ])('%s out of range: an integer in 0..19', (prop, options, got) => {
    expect(() => build(() => ({ validation: InputValidation.s3Object(options) })))
      .toThrow(new RegExp(`^S/W: invalid prop '${prop.replace('.', '\\.')}': must be an integer in 0\\.\\.19, ${got.replace('.', '\\.')}$`));
  });

  test('artifactRetention of zero days', () => {
    expect(() => build(() => ({ artifactRetention: Duration.hours(1) }))).toThrow(/invalid prop 'artifactRetention'/);
  });

  test('a DynamoDB attribute projected as two types', () => {
    expect(() => AgentTool.dynamoDbGetItem('policy', dynamodb.Table.fromTableName(newStack(), 'T', 't'), {
      key: { id: tasks.DynamoAttributeValue.fromString('x') },
      attributes: { limit: DynamoProjection.numberAttribute('limit'), limitText: DynamoProjection.stringAttribute('limit') },
    })).toThrow(/attribute 'limit' is projected as both N and S/);
  });

  test('one field compared as two types in the conditions', () => {
    expect(() => build((stack) => ({
      approval: ApprovalPolicy.when([
        DecisionCondition.greaterThan(AgentField.output('damage_type'), 3),
        DecisionCondition.stringEquals(AgentField.output('damage_type'), 'dent'),
      ], HumanApproval.notify(new sns.Topic(stack, 'T'))),
    }))).toThrow(/invalid prop 'approval': .*damage_type.* compared as both number and string/);
  });

  test('maxTokens 0', () => {
    expect(() => build(() => ({ reasoning: reasoning({ modelId: CLAUDE, maxTokens: 0 }) })))
      .toThrow(/invalid prop 'reasoning\.maxTokens': must be an integer in 1\.\.100000, got 0/);
  });

  test('temperature 1.5', () => {
    expect(() => build(() => ({ reasoning: reasoning({ modelId: CLAUDE, temperature: 1.5 }) })))
      .toThrow(/invalid prop 'reasoning\.temperature': must be in 0\.\.1, got 1\.5/);
  });

  test('heartbeat not shorter than the approval timeout', () => {
    expect(() => build((stack) => ({ approval: approval(stack, { timeout: Duration.hours(1), heartbeat: Duration.hours(1) }) })))
      .toThrow(/invalid prop 'approval\.heartbeat': must be shorter than the timeout/);
  });

  test('approval timeout under 60 seconds', () => {
    expect(() => build((stack) => ({ approval: approval(stack, { timeout: Duration.seconds(30) }) })))
      .toThrow(/invalid prop 'approval\.timeout': must be in 60\.\./);
  });

  test('the boundaries are accepted: timeout 60 s with heartbeat 59 s, temperature 1, maxTokens 1', () => {
    const wf = build((stack) => ({
      approval: approval(stack, { timeout: Duration.seconds(60), heartbeat: Duration.seconds(59) }),
      reasoning: reasoning({ modelId: CLAUDE, temperature: 1, maxTokens: 1 }),
    }));
    expect(wf.approvalsTable).toBeDefined();
  });

  test('a heartbeat not shorter than the escalation timeout (the escalation task would get HeartbeatSeconds >= TimeoutSeconds)', () => {
    const build_ = () => build((stack) => ({
      approval: approval(stack, {
        timeout: Duration.days(2),
        heartbeat: Duration.hours(36),
        onTimeout: ApprovalTimeout.escalate(new sns.Topic(stack, 'Leads'), Duration.days(1)),
      }),
    }));
    expect(build_).toThrow(/invalid prop 'approval\.(heartbeat|onTimeout)'/);
  });

  test('an escalation timeout under 60 seconds is rejected like the approval timeout', () => {
    expect(() => build((stack) => ({
      approval: approval(stack, { onTimeout: ApprovalTimeout.escalate(new sns.Topic(stack, 'Leads'), Duration.seconds(5)) }),
    }))).toThrow(/invalid prop 'approval\.onTimeout'/);
  });
});

describe('AgentField and AgentTool names', () => {
  test.each(['1cost', 'a.b', 'cost-usd', '', 'x'.repeat(65)])('AgentField.output(%j) is rejected', (name) => {
    expect(() => AgentField.output(name)).toThrow(/^AgentField\.output: invalid argument 'name': must be a plain field name \(letters, digits and _, at most 64, not starting with a digit\), got '.*'$/);
  });

  test('AgentField.tool checks the tool and the field name', () => {
    expect(() => AgentField.tool('po licy', 'limit')).toThrow(/^AgentField\.tool: invalid argument 'toolName': must be a plain field name .*, got 'po licy'$/);
    expect(() => AgentField.tool('policy', 'auto-limit')).toThrow(/^AgentField\.tool: invalid argument 'field': must be a plain field name .*, got 'auto-limit'$/);
    expect(AgentField.tool('policy', 'autoApproveLimit').jsonPath).toBe('$.tools.policy.autoApproveLimit');
  });

  test('AgentField.metadata normalizes the S3 metadata name; AgentField.path needs $.', () => {
    expect(AgentField.metadata('Policy-Id').jsonPath).toBe('$.validation.metadata.policy_id');
    expect(() => AgentField.path('validation.key')).toThrow(/^AgentField\.path: invalid argument 'jsonPath': must be a JSONPath starting with '\$\.', got 'validation\.key'$/);
  });

  test('AgentField.keySegment: the JSONPath of the validator\'s key segment, a label for reasons; the index must be 0..19', () => {
    expect(AgentField.keySegment(1)).toEqual(expect.objectContaining({ jsonPath: '$.validation.keySegments[1]', label: 'keySegment[1]' }));
    expect(AgentField.keySegment(19).jsonPath).toBe('$.validation.keySegments[19]');
    for (const index of [-1, 20, 1.5, NaN, Infinity]) {
      expect(() => AgentField.keySegment(index)).toThrow(new RegExp(
        `^AgentField\\.keySegment: invalid argument 'index': must be an integer from 0 to 19 \\(the key split on '/', counted from 0\\), got ${index}$`));
    }
  });

  test.each(['bad name', '9lives', 'a-b', 'x'.repeat(65)])('AgentTool name %j is rejected', (name) => {
    const fn = lambda.Function.fromFunctionArn(newStack(), 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:tool');
    expect(() => AgentTool.lambdaFunction(name, fn)).toThrow(/^AgentTool\.lambdaFunction: invalid argument 'name': must be letters, digits and _ \(at most 64, not starting with a digit\), got '.*'$/);
  });

  test('AgentTool name of 64 characters is accepted', () => {
    const fn = lambda.Function.fromFunctionArn(newStack(), 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:tool');
    expect(AgentTool.lambdaFunction('x'.repeat(64), fn).name).toHaveLength(64);
  });
});

describe('ReasoningInvocation.AUTO', () => {
  const reasonState = (wf: StepFunctionsAgentWorkflow) => wf.node.findChild('Reason');

  test('Nova with images only and maxTokens <= 4000: the SDK integration', () => {
    const wf = build(() => ({ validation: IMAGES, reasoning: reasoning({ modelId: NOVA_PRO_PROFILE, maxTokens: 4000 }) }));
    expect(reasonState(wf)).toBeInstanceOf(tasks.CallAwsService);
  });

  test('Nova with maxTokens above 4000: the reasoner Lambda', () => {
    const wf = build(() => ({ validation: IMAGES, reasoning: reasoning({ modelId: NOVA_PRO_PROFILE, maxTokens: 4001 }) }));
    expect(reasonState(wf)).toBeInstanceOf(tasks.LambdaInvoke);
  });

  test('Claude: the reasoner Lambda', () => {
    const wf = build(() => ({ validation: IMAGES, reasoning: reasoning({ modelId: CLAUDE }) }));
    expect(reasonState(wf)).toBeInstanceOf(tasks.LambdaInvoke);
  });

  // AUTO is documented to fall back to the Lambda when the SDK integration cannot be used; the SDK path
  // attaches images only, so any non-image (or unrestricted) content type must choose the Lambda, not fail.
  test('Nova with the default validation (any content type): falls back to the reasoner Lambda instead of failing', () => {
    const wf = build(() => ({ reasoning: reasoning({ modelId: NOVA_PRO_PROFILE }) }));
    expect(reasonState(wf)).toBeInstanceOf(tasks.LambdaInvoke);
  });

  test('Nova with application/pdf among the content types: falls back to the reasoner Lambda instead of failing', () => {
    const wf = build(() => ({
      validation: InputValidation.s3Object({ maxSize: Size.mebibytes(4), contentTypes: ['image/png', 'application/pdf'] }),
      reasoning: reasoning({ modelId: NOVA_PRO_PROFILE }),
    }));
    expect(reasonState(wf)).toBeInstanceOf(tasks.LambdaInvoke);
  });
});

// Negative tests of the factories' and the construct's range checks: each error names the
// construct path or the factory and tool, the prop, and the allowed range.
describe('factory and range checks name what is wrong and what is allowed', () => {
  const table = () => dynamodb.Table.fromTableName(newStack(), 'T', 't');
  const query = (limit: number) => AgentTool.dynamoDbQuery('history', table(), {
    keyConditionExpression: 'c = :c', expressionAttributeValues: { ':c': { S: 'x' } }, limit,
  });

  test.each([0, 51, -1])('AgentTool.dynamoDbQuery limit %d: the tool, the option and 1..50', (limit) => {
    expect(() => query(limit)).toThrow(new RegExp(`^AgentTool\\.dynamoDbQuery: invalid argument 'options\\.limit': must be an integer in 1\\.\\.50, got ${limit}$`));
  });

  test('AgentTool.dynamoDbQuery limits 1 and 50 are accepted', () => {
    expect(query(1).name).toBe('history');
    expect(query(50).name).toBe('history');
  });

  test('AgentTool.dynamoDbGetItem without attributes', () => {
    expect(() => AgentTool.dynamoDbGetItem('policy', table(), { key: { id: tasks.DynamoAttributeValue.fromString('x') }, attributes: {} }))
      .toThrow(/^AgentTool\.dynamoDbGetItem: invalid argument 'options\.attributes': must name at least one attribute$/);
  });

  test.each(['http://api.example.com', 'api.example.com', 'ftp://api.example.com', ' https://api.example.com'])('AgentTool.http apiRoot %j: https only', (apiRoot) => {
    const stack = newStack();
    const connection = events.Connection.fromConnectionAttributes(stack, 'C', {
      connectionName: 'c',
      connectionArn: 'arn:aws:events:us-east-1:123456789012:connection/c/1',
      connectionSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/c/1',
    });
    expect(() => AgentTool.http('fraud', { connection, apiRoot, path: '/score' }))
      .toThrow(new RegExp(`^AgentTool\\.http: invalid argument 'options\\.apiRoot': must be an https:// URL, got '${apiRoot.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}'$`));
  });

  test('more than 5 tools warns (does not throw): reliability, not a limit', () => {
    const stack = newStack();
    const fn = lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:tool');
    const wf = new StepFunctionsAgentWorkflow(stack, 'W', minimalProps(stack, { tools: ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => AgentTool.lambdaFunction(n, fn)) }));
    expect(wf.node.metadata.map((m) => JSON.stringify(m.data)).join()).toContain('6 tools: agent reliability drops beyond 4-5 tools');
  });

  test.each([
    ['all', () => DecisionCondition.all([])],
    ['any', () => DecisionCondition.any([])],
  ])('DecisionCondition.%s of an empty list', (name, make) => {
    expect(make).toThrow(new RegExp(`^DecisionCondition\\.${name}: invalid argument 'conditions': must list at least one condition$`));
  });

  test('escalation over the one-year execution limit: the path, the prop and the limit', () => {
    expect(() => build((stack) => ({
      approval: approval(stack, { timeout: Duration.days(300), onTimeout: ApprovalTimeout.escalate(new sns.Topic(stack, 'Leads'), Duration.days(65)) }),
    }))).toThrow(/^S\/W: invalid prop 'approval\.onTimeout': the approval and escalation timeouts together must stay under the one-year execution limit \(minus an hour\)$/);
  });

  test('escalation exactly at the limit (one year less an hour in all) is accepted', () => {
    const wf = build((stack) => ({
      approval: approval(stack, {
        timeout: Duration.days(182), onTimeout: ApprovalTimeout.escalate(new sns.Topic(stack, 'Leads'), Duration.hours(183 * 24 - 1)),
      }),
    }));
    expect(wf.approvalsTable).toBeDefined();
  });

  test('an approval timeout over the execution limit alone: the range', () => {
    expect(() => build((stack) => ({ approval: approval(stack, { timeout: Duration.days(365) }) })))
      .toThrow(/^S\/W: invalid prop 'approval\.timeout': must be in 60\.\.31532400, got 31536000$/);
  });

  test.each([
    [Duration.days(36501), 'got 36501'],
    [Duration.hours(36), 'got 1.5'],
    [Duration.hours(1), 'got 0.041'],
  ])('artifactRetention (how long the audit trail\'s artifacts are kept) %s: an integer in 1..36500 days', (retention, got) => {
    expect(() => build(() => ({ artifactRetention: retention })))
      .toThrow(new RegExp(`^S/W: invalid prop 'artifactRetention': must be an integer in 1\\.\\.36500, ${got.replace('.', '\\.')}`));
  });

  test('validation.maxSize above 5 GiB: the range in bytes', () => {
    expect(() => build(() => ({ validation: InputValidation.s3Object({ maxSize: Size.gibibytes(6) }) })))
      .toThrow(/^S\/W: invalid prop 'validation\.maxSize': must be in 1\.\.5368709120, got 6442450944$/);
  });

  test.each([
    ['reasoning.maxRetries', { maxRetries: 11 }, /must be an integer in 0\.\.10, got 11/],
    ['reasoning.schemaRetries', { schemaRetries: 4 }, /must be an integer in 0\.\.3, got 4/],
  ] as const)('%s out of range', (prop, overrides, range) => {
    expect(() => build(() => ({ reasoning: reasoning({ modelId: CLAUDE, ...overrides }) })))
      .toThrow(new RegExp(`^S/W: invalid prop '${prop.replace('.', '\\.')}': ${range.source}`));
  });

  test('checkpoint.memoryItems out of range', () => {
    expect(() => build(() => ({ checkpoint: { memoryItems: 11 } })))
      .toThrow(/^S\/W: invalid prop 'checkpoint\.memoryItems': must be an integer in 0\.\.10, got 11$/);
  });
});
