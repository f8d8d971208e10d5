import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { approvalStage } from './approval';
import { DefinitionContext } from './context';
import { decisionStage } from './decision';
import { failureEndings, outcomeEnding, progress, toProgressOnError } from './endings';
import { reasoningStage } from './reasoning';
import { toolsStage } from './tools';
import { validationStage } from './validation';
import { ResolvedConfig } from '../resolved-config';
import { ReasoningConfig, ValidationRules } from '../runtime/contracts';

export type { DefinitionContext } from './context';
export { DEFAULT_SCHEMA_TOOL } from './reasoning';

/** The functions and handler configuration the definition calls. @internal */
export interface DefinitionFunctions {
  readonly validatorFn: lambda.IFunction;
  readonly rules: ValidationRules;
  readonly reasoner: lambda.IFunction;
  readonly reasoningConfig: ReasoningConfig;
  /** The approval request function, when the policy has a human approval step. */
  readonly approvalRequestFn?: lambda.IFunction;
}

/** The definition, and the statements the state machine role needs beyond what its tasks grant. @internal */
export interface WorkflowDefinition {
  readonly definition: sfn.IChainable;
  readonly policyStatements: iam.PolicyStatement[];
}

/**
 * The whole state machine (JSONPath, no variables: it runs in aws-local-stepfunctions too), stage by
 * stage, with a progress event between stages:
 * validation → reasoning → tools → decision → [approval] → outcome, and the failure endings.
 * @internal
 */
export function buildDefinition(ctx: DefinitionContext, config: ResolvedConfig, fns: DefinitionFunctions): WorkflowDefinition {
  const endings = failureEndings(ctx, config.reasoning.modelId);
  const started = progress(ctx, 'Progress Started', 'started', 'RUNNING', 0);
  const validated = progress(ctx, 'Progress Validated', 'validation', 'VALID', 20);
  const reasoned = progress(ctx, 'Progress Reasoned', 'reasoning', 'DONE', 50);
  const toolsDone = progress(ctx, 'Progress Tools Done', 'tools', 'DONE', 65);

  const validation = validationStage(ctx, {
    validatorFn: fns.validatorFn, customValidator: config.customValidator, rules: fns.rules,
  }, endings, validated);
  const reasoning = reasoningStage(ctx, {
    reasoner: fns.reasoner,
    reasoningConfig: fns.reasoningConfig,
    invocation: config.invocation,
    structuredOutput: config.structuredOutput,
    maxTokens: config.maxTokens,
    attach: config.attach,
    reasoning: config.reasoning,
    snapshot: config.snapshot,
  }, endings);
  const tools = toolsStage(ctx, config.tools, fns.reasoner, endings);
  const recordOutcome = outcomeEnding(ctx);
  const awaiting = config.approval && fns.approvalRequestFn ? approvalStage(ctx, {
    approval: config.approval,
    requestFn: fns.approvalRequestFn,
    timeout: config.approvalTimeout,
    escalationTimeout: config.escalationTimeout,
    hasEscalation: config.hasEscalation,
  }, recordOutcome, endings) : undefined;
  const decide = decisionStage(ctx, config.policy, recordOutcome, awaiting);

  toProgressOnError(started, validation);
  toProgressOnError(validated, reasoning.start);
  toProgressOnError(reasoned, tools.start);
  toProgressOnError(toolsDone, decide);
  validated.next(reasoning.start);
  reasoning.end.next(reasoned);
  reasoned.next(tools.start);
  tools.end.next(toolsDone);
  toolsDone.next(decide);
  return { definition: started.next(validation), policyStatements: tools.policyStatements };
}
