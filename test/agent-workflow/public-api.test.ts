import { Annotations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { minimalProps, newStack } from './workflow-fixtures';
import {
  AGENT_WORKFLOW_EVENT_SOURCE, AGENT_WORKFLOW_METRICS_NAMESPACE, AgentField, AgentTool, AgentWorkflowWarnings, ApprovalPolicy,
  DecisionCondition, DynamoProjection, HumanApproval, StepFunctionsAgentWorkflow,
} from '../../src';

// The public API as Python, Java, C# and Go users meet it (jsii): constants as static members,
// sealed strategy classes that reject what their factories did not make, factory errors in the
// prop errors' wording.

const toolFn = () => lambda.Function.fromFunctionArn(newStack(), 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:tool');

describe('constants every language sees (static members)', () => {
  test('StepFunctionsAgentWorkflow.METRICS_NAMESPACE and EVENT_SOURCE', () => {
    expect(StepFunctionsAgentWorkflow.METRICS_NAMESPACE).toBe(AGENT_WORKFLOW_METRICS_NAMESPACE);
    expect(StepFunctionsAgentWorkflow.EVENT_SOURCE).toBe(AGENT_WORKFLOW_EVENT_SOURCE);
    expect(StepFunctionsAgentWorkflow.EVENT_SOURCE).toBe('cdk-production-patterns.agent-workflow');
  });

  test('warning ids have one style', () => {
    const ids = [
      AgentWorkflowWarnings.TOO_MANY_TOOLS, AgentWorkflowWarnings.IMAGE_LIMIT_ABOVE_CONVERSE, AgentWorkflowWarnings.TRIGGER_BUCKET_IMPORTED,
    ];
    for (const id of ids) {
      expect(id).toMatch(/^cdk-production-patterns:[a-z][A-Za-z]+$/);
    }
  });

  test('the too-many-tools warning carries its documented id (and can be acknowledged by it)', () => {
    const stack = newStack();
    const fn = lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:tool');
    const wf = new StepFunctionsAgentWorkflow(stack, 'W', minimalProps(stack, {
      tools: ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => AgentTool.lambdaFunction(n, fn)),
    }));
    const warnings = () => wf.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings().some((w) => w.includes(`[ack: ${AgentWorkflowWarnings.TOO_MANY_TOOLS}]`))).toBe(true);
    Annotations.of(wf).acknowledgeWarning(AgentWorkflowWarnings.TOO_MANY_TOOLS, 'six tools, reviewed');
    expect(warnings().some((w) => w.includes(AgentWorkflowWarnings.TOO_MANY_TOOLS))).toBe(false);
  });
});

describe('named function properties', () => {
  test('each named property is the function of its role', () => {
    const stack = newStack();
    const wf = new StepFunctionsAgentWorkflow(stack, 'W', minimalProps(stack));
    expect(wf.validatorFunction).toBe(wf.functions.validator);
    expect(wf.reasonerFunction).toBe(wf.functions.reasoner);
    expect(wf.starterFunction).toBe(wf.functions.starter);
    expect(wf.approvalRequestFunction).toBe(wf.functions.approvalRequest);
    expect(wf.approvalEndpointFunction).toBe(wf.functions.approvalEndpoint);
    expect(wf.approvalMonitorFunction).toBe(wf.functions.approvalMonitor);
    expect(wf.validatorFunction).toBeDefined();
    expect(wf.reasonerFunction).toBeDefined();
  });
});

describe('AgentTool is sealed: only its factories make tools', () => {
  const factories = /AgentTool\.dynamoDbGetItem\(\), AgentTool\.dynamoDbQuery\(\), AgentTool\.lambdaFunction\(\), AgentTool\.http\(\)/;

  test('a subclass without the internal binding (what a Python or Java subclass is) is rejected with the factories named', () => {
    // the shape a foreign-language subclass has in JavaScript: an AgentTool whose _bind is not defined
    class ForeignTool extends (AgentTool as any) {
      constructor() { super('foreign'); }
    }
    const stack = newStack();
    expect(() => new StepFunctionsAgentWorkflow(stack, 'W', minimalProps(stack, { tools: [new ForeignTool() as AgentTool] })))
      .toThrow(new RegExp(`^S/W: invalid prop 'tools\\[0\\]': must be made by one of the AgentTool factories \\(${factories.source}\\); AgentTool cannot be instantiated directly or subclassed$`));
  });

  test('an object that only looks like a tool is rejected the same way', () => {
    const stack = newStack();
    expect(() => new StepFunctionsAgentWorkflow(stack, 'W', minimalProps(stack, { tools: [{ name: 'x' } as unknown as AgentTool] })))
      .toThrow(/invalid prop 'tools\[0\]': must be made by one of the AgentTool factories/);
  });
});

describe('factory errors use the prop errors\' helper and wording', () => {
  test.each([
    ['numberAttribute', () => DynamoProjection.numberAttribute('1st')],
    ['stringAttribute', () => DynamoProjection.stringAttribute('a-b')],
    ['booleanAttribute', () => DynamoProjection.booleanAttribute('')],
  ])('DynamoProjection.%s: the factory, the argument and the rule', (factory, make) => {
    expect(make).toThrow(new RegExp(`^DynamoProjection\\.${factory}: invalid argument 'attribute': must be letters, digits and _`));
    try { make(); } catch (e) { expect((e as Error).name).toBe('ValidationError'); }
  });

  test('AgentTool factories name themselves', () => {
    expect(() => AgentTool.lambdaFunction('a b', toolFn())).toThrow(/^AgentTool\.lambdaFunction: invalid argument 'name': /);
  });
});

describe('ApprovalPolicy.when needs a condition', () => {
  test('an empty list is an error naming the alternatives (it would approve everything automatically)', () => {
    const stack = newStack();
    const approval = HumanApproval.notify(new sns.Topic(stack, 'Approvers'));
    expect(() => ApprovalPolicy.when([], approval))
      .toThrow(/^ApprovalPolicy\.when: invalid argument 'conditions': must list at least one condition \(with none, every execution would be approved automatically\); use ApprovalPolicy\.always\(\) or ApprovalPolicy\.never\(\)$/);
  });

  test('one condition is accepted', () => {
    const stack = newStack();
    const approval = HumanApproval.notify(new sns.Topic(stack, 'Approvers'));
    const policy = ApprovalPolicy.when([DecisionCondition.greaterThan(AgentField.output('estimated_cost'), 100)], approval);
    expect(policy.conditions).toHaveLength(1);
  });
});
