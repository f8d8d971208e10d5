import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { DefinitionContext, Stage } from './context';
import { FailureEndings, progressRequest } from './endings';
import { dynamoDbRetry, lambdaThrottleRetry, modelRetry } from './retries';
import { BedrockConverseOptions, ReasoningInvocation, StructuredOutput } from '../agent-reasoning';
import { modelArns } from '../model-arns';
import { RETRYABLE_MODEL_ERRORS, ReasoningConfig, SCHEMA_VIOLATION_ERROR } from '../runtime/contracts';

/** What the reasoning stage needs. */
export interface ReasoningStageOptions {
  readonly reasoner: lambda.IFunction;
  readonly reasoningConfig: ReasoningConfig;
  readonly invocation: ReasoningInvocation;
  readonly structuredOutput: StructuredOutput;
  readonly maxTokens: number;
  readonly attach: boolean;
  readonly reasoning: BedrockConverseOptions;
  /** The model reads the validated copy (built-in validator) rather than the upload itself. */
  readonly snapshot: boolean;
}

/**
 * The model call. LAMBDA: Reason (the reasoner calls Converse and checkpoints). SDK_INTEGRATION:
 * [Has Memory Scope? → Load Memory | No Memory] → Reason (Converse from the state machine) →
 * Checkpoint Answer (the reasoner checks and checkpoints the answer). An answer outside the schema
 * is recorded as ERROR_INVALID_ANSWER.
 */
export function reasoningStage(ctx: DefinitionContext, o: ReasoningStageOptions, endings: FailureEndings): Stage {
  const r = o.reasoning;
  const checkpointPayload = (mode: string) => sfn.TaskInput.fromObject({
    mode,
    'executionId.$': '$$.Execution.Id',
    'step': 'reason',
    'validation.$': '$.validation',
    'config': o.reasoningConfig,
    ...(mode === 'checkpoint' ? { 'raw.$': '$.reasoning' } : {}),
    // the reasoner sends the 'reasoning' progress event once the answer is checked and checkpointed
    'progress': progressRequest(),
  });
  if (o.invocation === ReasoningInvocation.LAMBDA) {
    const reason = tasks.LambdaInvoke.jsonPath(ctx.scope, 'Reason', {
      lambdaFunction: o.reasoner,
      payload: checkpointPayload('invoke'),
      payloadResponseOnly: true,
      resultPath: '$.reasoning',
      retryOnServiceExceptions: true,
    });
    modelRetry(reason, RETRYABLE_MODEL_ERRORS, r);
    lambdaThrottleRetry(reason);
    const schemaRetries = r.schemaRetries ?? 1;
    if (schemaRetries > 0) reason.addRetry({ errors: [SCHEMA_VIOLATION_ERROR], maxAttempts: schemaRetries, interval: Duration.seconds(1) });
    reason.addCatch(endings.recordInvalidAnswer, { errors: [SCHEMA_VIOLATION_ERROR], resultPath: '$.error' });
    endings.catchAll(reason);
    return { start: reason, end: reason };
  }

  const converse = tasks.CallAwsService.jsonPath(ctx.scope, 'Reason', {
    service: 'bedrockruntime',
    action: 'converse',
    iamAction: 'bedrock:InvokeModel',
    iamResources: modelArns(Stack.of(ctx.scope), r.modelId, r.inferenceProfileRegions),
    parameters: converseParameters(r, o.structuredOutput, o.maxTokens, o.attach, o.reasoningConfig.memoryItems > 0, o.snapshot),
    resultSelector: { 'stopReason.$': '$.StopReason', 'content.$': '$.Output.Message.Content', 'usage.$': '$.Usage' },
    resultPath: '$.reasoning',
  });
  const sdkErrors = RETRYABLE_MODEL_ERRORS.flatMap((e) => [`BedrockRuntime.${e}`, `Bedrockruntime.${e}`]);
  modelRetry(converse, sdkErrors, r);
  endings.catchAll(converse);
  const cp = tasks.LambdaInvoke.jsonPath(ctx.scope, 'Checkpoint Answer', {
    lambdaFunction: o.reasoner,
    payload: checkpointPayload('checkpoint'),
    payloadResponseOnly: true,
    resultPath: '$.reasoning',
    retryOnServiceExceptions: true,
  });
  lambdaThrottleRetry(cp);
  cp.addCatch(endings.recordInvalidAnswer, { errors: [SCHEMA_VIOLATION_ERROR], resultPath: '$.error' });
  endings.catchAll(cp);
  converse.next(cp);
  if (o.reasoningConfig.memoryItems === 0) return { start: converse, end: cp };

  // Memory for the SDK path: the newest summaries of the same actor/session join the prompt.
  const load = tasks.CallAwsService.jsonPath(ctx.scope, 'Load Memory', {
    service: 'dynamodb',
    action: 'query',
    parameters: {
      TableName: ctx.contextTable.tableName,
      KeyConditionExpression: '#scope = :scope',
      ExpressionAttributeNames: { '#scope': 'scope', '#summary': 'summary' },
      ExpressionAttributeValues: { ':scope': { 'S.$': '$.validation.memoryScope' } },
      ProjectionExpression: '#summary',
      ScanIndexForward: false,
      Limit: o.reasoningConfig.memoryItems,
    },
    iamResources: [ctx.contextTable.tableArn],
    additionalIamStatements: ctx.contextTable.encryptionKey
      ? [new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [ctx.contextTable.encryptionKey.keyArn] })]
      : undefined,
    resultSelector: { 'items.$': '$.Items' },
    resultPath: '$.memory',
  });
  dynamoDbRetry(load, 3);
  endings.catchAll(load);
  const none = new sfn.Pass(ctx.scope, 'No Memory', { result: sfn.Result.fromObject({ items: [] }), resultPath: '$.memory' });
  const start = new sfn.Choice(ctx.scope, 'Has Memory Scope?')
    .when(sfn.Condition.stringEquals('$.validation.memoryScope', ''), none.next(converse))
    .otherwise(load.next(converse));
  return { start, end: cp };
}

/** The name of the tool (or JSON schema) the structured answer is recorded with. @internal */
export const DEFAULT_SCHEMA_TOOL = 'record_answer';

/** The Converse request of the SDK integration, as task parameters over the state. */
function converseParameters(
  r: BedrockConverseOptions, structured: StructuredOutput, maxTokens: number, attach: boolean, memory: boolean, snapshot: boolean,
): Record<string, any> {
  const content: any[] = [promptContent(r.prompt)];
  if (memory) {
    content.push({ 'Text.$': "States.Format('Context from earlier requests of the same actor/session (newest first): {}', States.JsonToString($.memory.items))" });
  }
  if (attach) {
    content.push({
      Image: {
        'Format.$': "States.ArrayGetItem(States.StringSplit($.validation.contentType, '/'), 1)",
        'Source': {
          S3Location: {
            'Uri.$': snapshot
              ? "States.Format('s3://{}/{}', $.validation.analysisBucket, $.validation.analysisKey)"
              : "States.Format('s3://{}/{}', $.validation.bucket, $.validation.key)",
          },
        },
      },
    });
  }
  const params: Record<string, any> = {
    ModelId: r.modelId,
    System: [{ Text: r.systemPrompt }],
    Messages: [{ Role: 'user', Content: content }],
    InferenceConfig: { MaxTokens: maxTokens, ...(r.temperature !== undefined ? { Temperature: r.temperature } : {}) },
  };
  if (structured === StructuredOutput.JSON_SCHEMA) {
    params.OutputConfig = { TextFormat: { Type: 'json_schema', Structure: { JsonSchema: { Schema: JSON.stringify(r.outputSchema), Name: DEFAULT_SCHEMA_TOOL } } } };
  } else {
    params.ToolConfig = {
      Tools: [{
        ToolSpec: {
          Name: DEFAULT_SCHEMA_TOOL,
          Description: 'Record the structured answer.',
          InputSchema: { Json: r.outputSchema },
          ...(r.strictToolUse ? { Strict: true } : {}),
        },
      }],
      ToolChoice: { Tool: { Name: DEFAULT_SCHEMA_TOOL } },
    };
  }
  return params;
}

const PLACEHOLDER = /\{\{\s*(key|bucket|contentType|metadata\.[a-z0-9_]+)\s*\}\}/g;

/** The prompt as a Converse text block; placeholders become a States.Format call over the validation result. */
function promptContent(prompt: string): Record<string, string> {
  const args: string[] = [];
  let literal = '';
  let last = 0;
  const escape = (s: string) => s.replace(/[\\'{}]/g, (c) => `\\${c}`);
  for (const m of prompt.matchAll(PLACEHOLDER)) {
    literal += escape(prompt.slice(last, m.index)) + '{}';
    args.push(`$.validation.${m[1]}`);
    last = m.index! + m[0].length;
  }
  if (args.length === 0) return { Text: prompt };
  literal += escape(prompt.slice(last));
  return { 'Text.$': `States.Format('${literal}', ${args.join(', ')})` };
}
