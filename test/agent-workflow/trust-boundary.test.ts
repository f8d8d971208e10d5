/**
 * The trust boundary of the trigger object at synth time: what the validator is told to check about
 * the key (control characters, the folder segments the definition reads, the memory actor taken from
 * a segment) travels in the "Validate Input" rules of the definition, and only when configured.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { CLAUDE, minimalProps, newStack, reasoning } from './workflow-fixtures';
import {
  AgentField, AgentTool, ApprovalPolicy, DecisionCondition, DynamoProjection, InputValidation, StepFunctionsAgentWorkflow,
  StepFunctionsAgentWorkflowProps,
} from '../../src';
import { definitionFromTemplate } from '../harness/sfn-local';

function findState(states: Record<string, any>, name: string): any {
  for (const [n, s] of Object.entries<any>(states)) {
    if (n === name) return s;
    for (const nested of [...(s.Branches ?? []), s.Iterator, s.ItemProcessor].filter(Boolean)) {
      const found = findState(nested.States, name);
      if (found) return found;
    }
  }
  return undefined;
}

function definitionOf(overrides: (stack: Stack) => Partial<StepFunctionsAgentWorkflowProps>): any {
  const stack = newStack();
  new StepFunctionsAgentWorkflow(stack, 'W', minimalProps(stack, overrides(stack)));
  return definitionFromTemplate(Template.fromStack(stack));
}

const rulesOf = (definition: any) => findState(definition.States, 'Validate Input').Parameters.rules;

describe('the key rules in the definition', () => {
  test('by default: no key rule is added (the validator refuses control characters and reads no segment)', () => {
    const rules = rulesOf(definitionOf(() => ({})));
    expect(rules).not.toHaveProperty('allowControlCharactersInKey');
    expect(rules).not.toHaveProperty('requiredKeySegments');
    expect(rules).not.toHaveProperty('actorIdKeySegment');
  });

  test('the segments the conditions, actorIdKeySegment and requiredKeySegments read are all required, sorted, once each', () => {
    const definition = definitionOf((stack) => {
      const policies = new dynamodb.Table(stack, 'Policies', { partitionKey: { name: 'policyId', type: dynamodb.AttributeType.STRING } });
      return {
        validation: InputValidation.s3Object({ requiredKeySegments: [3, 1], actorIdKeySegment: 2, allowControlCharactersInKey: true }),
        tools: [AgentTool.dynamoDbGetItem('policy', policies, {
          key: { policyId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt(AgentField.keySegment(1).jsonPath)) },
          attributes: { status: DynamoProjection.stringAttribute('status') },
        })],
        approval: ApprovalPolicy.never({ rejectWhen: [DecisionCondition.stringEquals(AgentField.keySegment(0), 'quarantine')] }),
      };
    });
    expect(rulesOf(definition)).toEqual(expect.objectContaining({
      requiredKeySegments: [0, 1, 2, 3], actorIdKeySegment: 2, allowControlCharactersInKey: true,
    }));
    // the tool's key and the condition read the validator's segments by path
    expect(JSON.stringify(findState(definition.States, 'Tool policy').Parameters.Key)).toContain('"S.$":"$.validation.keySegments[1]"');
    expect(JSON.stringify(definition)).toContain('"Variable":"$.validation.keySegments[0]","StringEquals":"quarantine"');
  });

  test('a condition on a key segment alone requires it (the reason names its label)', () => {
    const definition = definitionOf(() => ({
      reasoning: reasoning({ modelId: CLAUDE, temperature: undefined, prompt: 'Assess {{key}}' }),
      approval: ApprovalPolicy.never({ rejectWhen: [DecisionCondition.stringEquals(AgentField.keySegment(4), 'x')] }),
    }));
    expect(rulesOf(definition).requiredKeySegments).toEqual([4]);
    expect(JSON.stringify(definition)).toContain("keySegment[4] = 'x'");
  });
});
