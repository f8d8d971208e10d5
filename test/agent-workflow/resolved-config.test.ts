import { Duration, Size } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CLAUDE, IMAGES, minimalProps, newStack, NOVA_PRO_PROFILE, reasoning } from './workflow-fixtures';
import {
  AgentField, AgentWorkflowWarnings, ApprovalPolicy, ApprovalTimeout, DecisionCondition, HumanApproval, InputValidation, ReasoningInvocation,
  StepFunctionsAgentWorkflowProps, StructuredOutput,
} from '../../src';
import { resolveConfig } from '../../src/agent-workflow/resolved-config';

// resolveConfig is pure: props in, a typed config out. It creates nothing in the tree it is given.

function setup(overrides: (scope: Construct) => Partial<StepFunctionsAgentWorkflowProps> = () => ({})) {
  const stack = newStack();
  const scope = new Construct(stack, 'W');
  const props = minimalProps(stack, overrides(stack));
  return { stack, scope, props };
}

function resolve(overrides: (scope: Construct) => Partial<StepFunctionsAgentWorkflowProps> = () => ({})) {
  const { scope, props } = setup(overrides);
  return resolveConfig(scope, props);
}

const topic = (scope: Construct, id = 'Approvers') => new sns.Topic(scope, id);

describe('resolveConfig: defaults', () => {
  test('minimal props: Lambda reasoning with image bytes, 5 MiB, no approval', () => {
    const c = resolve();
    expect(c.invocation).toBe(ReasoningInvocation.LAMBDA);
    expect(c.attachment).toBe('bytes');
    expect(c.snapshot).toBe(false);
    expect(c.maxSizeBytes).toBe(5 * 1024 * 1024);
    expect(c.maxTokens).toBe(1500); // the fixture's
    expect(c.structuredOutput).toBe(StructuredOutput.TOOL_USE);
    expect(c.approval).toBeUndefined();
    expect(c.approvalSeconds).toBe(0);
    expect(c.hasEscalation).toBe(false);
    expect(c.memoryItems).toBe(3);
    expect(c.checkpointTtl.toDays()).toBe(30);
    expect(c.artifactRetention.toDays()).toBe(365);
    expect(c.logRetention).toBe(logs.RetentionDays.ONE_YEAR);
    expect(c.customValidator).toBe(false);
    expect(c.contentTypes).toEqual([]);
  });

  test('the metadata the prompt reads is required (normalized, sorted, once)', () => {
    const c = resolve(() => ({
      validation: InputValidation.s3Object({ requiredMetadata: ['Policy-Id', 'Actor-Id'] }),
      approval: ApprovalPolicy.never({ rejectWhen: [DecisionCondition.stringEquals(AgentField.metadata('tier'), 'x')] }),
    }));
    expect(c.requiredMetadata).toEqual(['actor_id', 'policy_id', 'tier']);
  });

  test('creates nothing in the scope it is given', () => {
    const { scope, props } = setup(() => ({ validation: InputValidation.s3Object({ maxSize: Size.kibibytes(4500) }) }));
    resolveConfig(scope, props);
    expect(scope.node.children).toHaveLength(0);
    expect(scope.node.metadata).toEqual([]);
  });
});

describe('resolveConfig: how the model is called', () => {
  test('Nova with images only: the SDK integration reading a copy of the validated version', () => {
    const c = resolve(() => ({ validation: IMAGES, reasoning: reasoning({ modelId: NOVA_PRO_PROFILE }) }));
    expect(c.invocation).toBe(ReasoningInvocation.SDK_INTEGRATION);
    expect(c.attachment).toBe('s3_location');
    expect(c.snapshot).toBe(true);
    expect(c.contentTypes).toEqual(['image/jpeg', 'image/png']);
  });

  test('Nova with a custom validator: S3 location of the upload itself (no copy)', () => {
    const c = resolve((s) => ({
      validation: InputValidation.lambdaFunction(lambda.Function.fromFunctionArn(s, 'V', 'arn:aws:lambda:us-east-1:123456789012:function:v')),
      reasoning: reasoning({ modelId: NOVA_PRO_PROFILE, invocation: ReasoningInvocation.LAMBDA }),
    }));
    expect(c.customValidator).toBe(true);
    expect(c.attachment).toBe('s3_location');
    expect(c.snapshot).toBe(false);
  });

  test('without an attachment, Nova uses the SDK integration whatever the content types', () => {
    const c = resolve(() => ({ reasoning: reasoning({ modelId: NOVA_PRO_PROFILE, attachTriggerObject: false }) }));
    expect(c.invocation).toBe(ReasoningInvocation.SDK_INTEGRATION);
    expect(c.attachment).toBe('none');
  });

  test('Claude and long answers: the reasoner Lambda', () => {
    expect(resolve(() => ({ validation: IMAGES, reasoning: reasoning({ modelId: CLAUDE }) })).invocation).toBe(ReasoningInvocation.LAMBDA);
    expect(resolve(() => ({ validation: IMAGES, reasoning: reasoning({ maxTokens: 4001 }) })).invocation).toBe(ReasoningInvocation.LAMBDA);
  });
});

describe('resolveConfig: approval timeouts', () => {
  test('approval with escalation: the approval seconds add both waits', () => {
    const c = resolve((s) => ({
      approval: ApprovalPolicy.always(HumanApproval.notify(topic(s), {
        timeout: Duration.days(2), onTimeout: ApprovalTimeout.escalate(topic(s, 'Leads'), Duration.days(1)),
      })),
    }));
    expect(c.hasEscalation).toBe(true);
    expect(c.approvalSeconds).toBe(3 * 24 * 3600);
  });

  test('the escalation waits the primary timeout unless given', () => {
    const c = resolve((s) => ({
      approval: ApprovalPolicy.always(HumanApproval.notify(topic(s), { timeout: Duration.hours(5), onTimeout: ApprovalTimeout.escalate(topic(s, 'Leads')) })),
    }));
    expect(c.escalationTimeout.toHours()).toBe(5);
    expect(c.approvalSeconds).toBe(10 * 3600);
  });

  test('reject on timeout: no escalation', () => {
    const c = resolve((s) => ({ approval: ApprovalPolicy.always(HumanApproval.notify(topic(s), { onTimeout: ApprovalTimeout.reject() })) }));
    expect(c.hasEscalation).toBe(false);
    expect(c.approvalSeconds).toBe(2 * 24 * 3600);
  });

  test('approval and escalation together beyond the one-year execution limit are rejected, naming the path and the prop', () => {
    const { scope, props } = setup((s) => ({
      approval: ApprovalPolicy.always(HumanApproval.notify(topic(s), {
        timeout: Duration.days(200), onTimeout: ApprovalTimeout.escalate(topic(s, 'Leads'), Duration.days(200)),
      })),
    }));
    expect(() => resolveConfig(scope, props)).toThrow(/^S\/W: invalid prop 'approval\.onTimeout': .*one-year execution limit/);
  });
});

describe('resolveConfig: warnings are returned, not added', () => {
  test('an image limit above 3.75 MB on the bytes path, in MiB with two decimals', () => {
    const c = resolve(() => ({ validation: InputValidation.s3Object({ maxSize: Size.kibibytes(4500) }) }));
    expect(c.warnings).toEqual([expect.objectContaining({
      id: AgentWorkflowWarnings.IMAGE_LIMIT_ABOVE_CONVERSE,
      message: expect.stringContaining('validation.maxSize is 4.39 MiB'),
    })]);
  });

  test('a whole number of MiB prints as such; 3 MiB does not warn', () => {
    expect(resolve().warnings.map((w) => w.message)).toEqual([expect.stringContaining('validation.maxSize is 5 MiB')]);
    expect(resolve(() => ({ validation: InputValidation.s3Object({ maxSize: Size.mebibytes(3) }) })).warnings).toEqual([]);
  });

  test('the S3-location path never warns about the image size', () => {
    const c = resolve(() => ({
      validation: InputValidation.s3Object({ maxSize: Size.mebibytes(20), contentTypes: ['image/png'] }),
      reasoning: reasoning({ modelId: NOVA_PRO_PROFILE }),
    }));
    expect(c.warnings).toEqual([]);
  });

  test('checkpoint options pass through', () => {
    const c = resolve(() => ({ checkpoint: { memoryItems: 0, ttl: Duration.days(3) } }));
    expect(c.memoryItems).toBe(0);
    expect(c.checkpointTtl.toDays()).toBe(3);
  });
});
