import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { DefinitionContext, Stage } from './context';
import { FailureEndings } from './endings';
import { lambdaThrottleRetry, toolRetry } from './retries';
import { AgentTool } from '../agent-tool';

/** The tools stage, and the statements the state machine role needs beyond what the tasks grant. */
export interface ToolsStage extends Stage {
  readonly policyStatements: iam.PolicyStatement[];
}

/**
 * Run Tools (one Parallel branch per tool; results join `$.tools.<name>`) or No Tools, then Digest
 * Tool Results (the reasoner hashes them: States.Hash takes at most 10,000 characters).
 */
export function toolsStage(ctx: DefinitionContext, tools: AgentTool[], reasoner: lambda.IFunction, endings: FailureEndings): ToolsStage {
  const policyStatements: iam.PolicyStatement[] = [];
  let toolsState: sfn.State & sfn.INextable;
  if (tools.length > 0) {
    const parallel = new sfn.Parallel(ctx.scope, 'Run Tools', {
      resultPath: '$.tools',
      resultSelector: Object.fromEntries(tools.map((t, i) => [`${t.name}.$`, `$[${i}]`])),
    });
    for (const t of tools) {
      const bound = t._bind(ctx.scope, `Tool ${t.name}`);
      toolRetry(bound.state);
      parallel.branch(bound.branch);
      policyStatements.push(...(bound.policyStatements ?? []));
    }
    endings.catchAll(parallel);
    toolsState = parallel;
  } else {
    toolsState = new sfn.Pass(ctx.scope, 'No Tools', { result: sfn.Result.fromObject({}), resultPath: '$.tools' });
  }
  const digest = tasks.LambdaInvoke.jsonPath(ctx.scope, 'Digest Tool Results', {
    lambdaFunction: reasoner,
    payload: sfn.TaskInput.fromObject({ 'mode': 'digest', 'tools.$': '$.tools' }),
    payloadResponseOnly: true,
    resultPath: '$.toolsDigest',
    retryOnServiceExceptions: true,
  });
  lambdaThrottleRetry(digest);
  endings.catchAll(digest);
  toolsState.next(digest);
  return { start: toolsState, end: digest, policyStatements };
}
