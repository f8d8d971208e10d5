import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { DefinitionContext, Stage } from './context';
import { FailureEndings, progressRequest } from './endings';
import { lambdaThrottleRetry, toolRetry } from './retries';
import { AgentTool } from '../agent-tool';
import { ToolProjections } from '../runtime/tool-results';

/** The tools stage, and the statements the state machine role needs beyond what the tasks grant. */
export interface ToolsStage extends Stage {
  readonly policyStatements: iam.PolicyStatement[];
}

/**
 * Run Tools (one Parallel branch per tool; results join `$.tools.<name>`) or No Tools, then Digest
 * Tool Results: the reasoner hashes them (States.Hash takes at most 10,000 characters), sends the
 * 'tools' progress event, and projects each GetItem tool's raw result (typed, null-safe: see
 * runtime/tool-results.ts); with GetItem tools, Use Tool Results then puts the projected results at
 * `$.tools` and the digest at `$.toolsDigest`.
 */
export function toolsStage(ctx: DefinitionContext, tools: AgentTool[], reasoner: lambda.IFunction, endings: FailureEndings): ToolsStage {
  const policyStatements: iam.PolicyStatement[] = [];
  const projectionsByTool = new Map<string, ToolProjections[string]>();
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
      if (bound.projection) projectionsByTool.set(t.name, bound.projection);
    }
    endings.catchAll(parallel);
    toolsState = parallel;
  } else {
    toolsState = new sfn.Pass(ctx.scope, 'No Tools', { result: sfn.Result.fromObject({}), resultPath: '$.tools' });
  }
  // fromEntries: a tool named like an Object property stays an ordinary key
  const projections: ToolProjections = Object.fromEntries(projectionsByTool);
  const project = projectionsByTool.size > 0;
  const digest = tasks.LambdaInvoke.jsonPath(ctx.scope, 'Digest Tool Results', {
    lambdaFunction: reasoner,
    payload: sfn.TaskInput.fromObject({
      'mode': 'digest',
      'tools.$': '$.tools',
      ...(project ? { projections } : {}),
      'progress': progressRequest(),
    }),
    payloadResponseOnly: true,
    // with projections the answer is { tools, toolsDigest }, merged over the state by Use Tool Results
    resultPath: '$.toolsDigest',
    retryOnServiceExceptions: true,
  });
  lambdaThrottleRetry(digest);
  endings.catchAll(digest);
  toolsState.next(digest);
  if (!project) return { start: toolsState, end: digest, policyStatements };
  // One state for two places (a Pass has one ResultPath): the digest's answer { tools, toolsDigest }
  // merged over the state replaces the raw results and itself, leaving the layout of a run without
  // GetItem tools.
  // (the default ResultPath, $: aws-local-stepfunctions 3.0 mishandles an explicit '$')
  const use = new sfn.Pass(ctx.scope, 'Use Tool Results', {
    parameters: { 'state.$': 'States.JsonMerge($, $.toolsDigest, false)' },
    outputPath: '$.state',
  });
  digest.next(use);
  return { start: toolsState, end: use, policyStatements };
}
