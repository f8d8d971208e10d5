import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { approvalStage } from './approval';
import { DefinitionContext } from './context';
import { decisionStage } from './decision';
import { failureEndings, outcomeEnding } from './endings';
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
 * stage: validation → reasoning → tools → decision → [approval] → outcome, and the failure endings.
 * Progress events come from the handlers already on the path (validator, reasoner, digest, approval
 * request) and from states only where none is (a custom validator, the ends).
 * @internal
 */
export function buildDefinition(ctx: DefinitionContext, config: ResolvedConfig, fns: DefinitionFunctions): WorkflowDefinition {
  const endings = failureEndings(ctx, config.reasoning.modelId);
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
  const validation = validationStage(ctx, {
    validatorFn: fns.validatorFn, customValidator: config.customValidator, rules: fns.rules,
  }, endings, reasoning.start);
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

  reasoning.end.next(tools.start);
  tools.end.next(decide);
  return { definition: validation, policyStatements: tools.policyStatements };
}
