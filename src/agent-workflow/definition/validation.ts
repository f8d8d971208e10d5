import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { DefinitionContext } from './context';
import { audit, FailureEndings, progress, S, toProgressOnError } from './endings';
import { lambdaThrottleRetry, validatorRetry } from './retries';
import { ValidationRules } from '../runtime/contracts';

/** What the validation stage needs. */
export interface ValidationStageOptions {
  /** The built-in validator or the user's function. */
  readonly validatorFn: lambda.IFunction;
  /** The user's function: its answer is completed with defaults and the required metadata is checked. */
  readonly customValidator: boolean;
  readonly rules: ValidationRules;
}

/**
 * Validate Input → Input Valid? (with a custom validator: Complete Validation → Use Validation →
 * Required Metadata?). A valid input continues at `onValid`; an invalid one is recorded
 * (REJECTED_INVALID) and ends the execution successfully.
 */
export function validationStage(ctx: DefinitionContext, o: ValidationStageOptions, endings: FailureEndings, onValid: sfn.IChainable): sfn.IChainable {
  // A custom validator's answer is merged over a complete result (every field the definition reads
  // by path), so a partial answer such as { valid: false, reason } cannot fail the execution.
  const nullValue = "States.StringToJson('null')";
  const validationDefaults = {
    'valid': false,
    'reason': 'the validator gave no reason',
    'bucket': '',
    'key': '',
    'versionId.$': nullValue,
    'size': 0,
    'contentType': '',
    'etag': '',
    'actorId': '',
    'sessionId': '',
    'memoryScope': '',
    'analysisBucket': '',
    'analysisKey': '',
    'metadata': {},
  };
  const validate = tasks.LambdaInvoke.jsonPath(ctx.scope, 'Validate Input', {
    lambdaFunction: o.validatorFn,
    payload: sfn.TaskInput.fromObject({ 'request.$': '$', 'rules': o.rules }),
    payloadResponseOnly: true,
    resultSelector: o.customValidator ? { 'raw.$': '$', 'defaults': validationDefaults } : undefined,
    resultPath: o.customValidator ? '$.validatorAnswer' : '$.validation',
    retryOnServiceExceptions: true,
  });
  validatorRetry(validate);
  lambdaThrottleRetry(validate);
  endings.catchAll(validate);

  const rejectedInvalid = audit(ctx, 'Record Rejected Input', {
    outcome: tasks.DynamoAttributeValue.fromString('REJECTED_INVALID'),
    reason: S('$.validation.reason'),
    objectBucket: S('$.validation.bucket'),
    objectKey: S('$.validation.key'),
  });
  const rejectedEnd = new sfn.Succeed(ctx.scope, 'Rejected Invalid Input', { outputPath: '$.validation' });
  const progressRejected = progress(ctx, 'Progress Rejected', 'validation', 'REJECTED_INVALID', 100);
  toProgressOnError(progressRejected, rejectedEnd);
  rejectedInvalid.next(progressRejected).next(rejectedEnd);

  const validChoice = new sfn.Choice(ctx.scope, 'Input Valid?')
    .when(sfn.Condition.booleanEquals('$.validation.valid', true), onValid)
    .otherwise(rejectedInvalid);
  if (!o.customValidator) return sfn.Chain.start(validate).next(validChoice);
  const merge = new sfn.Pass(ctx.scope, 'Complete Validation', {
    parameters: { 'merged.$': 'States.JsonMerge($.validatorAnswer.defaults, $.validatorAnswer.raw, false)' },
    resultPath: '$.validatorAnswer',
  });
  const place = new sfn.Pass(ctx.scope, 'Use Validation', { inputPath: '$.validatorAnswer.merged', resultPath: '$.validation' });
  const required = o.rules.requiredMetadata ?? [];
  if (required.length === 0) return sfn.Chain.start(validate).next(merge).next(place).next(validChoice);
  // Metadata the definition reads by path must be there whatever the custom validator said (one rule
  // per name and problem, in order: a missing path never reaches a type test).
  const missing = new sfn.Pass(ctx.scope, 'Missing Metadata', {
    result: sfn.Result.fromString(`missing or non-string object metadata (required: ${required.join(', ')})`),
    resultPath: '$.validation.reason',
  }).next(rejectedInvalid);
  const metadataCheck = new sfn.Choice(ctx.scope, 'Required Metadata?');
  for (const name of required) {
    metadataCheck.when(sfn.Condition.not(sfn.Condition.isPresent(`$.validation.metadata.${name}`)), missing);
    metadataCheck.when(sfn.Condition.not(sfn.Condition.isString(`$.validation.metadata.${name}`)), missing);
  }
  metadataCheck.otherwise(validChoice);
  return sfn.Chain.start(validate).next(merge).next(place).next(metadataCheck);
}
