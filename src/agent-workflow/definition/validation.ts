import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { DefinitionContext } from './context';
import { audit, FailureEndings, progress, progressRequest, S, toProgressOnError } from './endings';
import { lambdaThrottleRetry, validatorRetry } from './retries';
import { ValidationRules } from '../runtime/contracts';
import { PROGRESS } from '../runtime/progress-events';

/** What the validation stage needs. */
export interface ValidationStageOptions {
  /** The built-in validator or the user's function. */
  readonly validatorFn: lambda.IFunction;
  /** The user's function: its answer is completed with defaults and the required metadata is checked. */
  readonly customValidator: boolean;
  readonly rules: ValidationRules;
}

/**
 * Validate Input → Input Valid? (the built-in validator sends the 'started' and 'validation'
 * progress events itself). With a custom validator, whose function cannot send ours: Progress Started
 * → Validate Input → Complete Validation → Use Validation → [Required Metadata?] → Input Valid? →
 * Progress Validated. A valid input continues at `onValid`; an invalid one is recorded
 * (REJECTED_INVALID) and ends the execution successfully. Returns the stage's first state.
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
    payload: sfn.TaskInput.fromObject({
      'request.$': '$',
      'rules': o.rules,
      ...(o.customValidator ? {} : { progress: progressRequest(true) }),
    }),
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
  const progressRejected = progress(ctx, 'Progress Rejected', PROGRESS.rejectedInvalid);
  toProgressOnError(progressRejected, rejectedEnd);
  rejectedInvalid.next(progressRejected).next(rejectedEnd);

  if (!o.customValidator) {
    const validChoice = new sfn.Choice(ctx.scope, 'Input Valid?')
      .when(sfn.Condition.booleanEquals('$.validation.valid', true), onValid)
      .otherwise(rejectedInvalid);
    return sfn.Chain.start(validate).next(validChoice);
  }
  const started = progress(ctx, 'Progress Started', PROGRESS.started);
  toProgressOnError(started, validate);
  started.next(validate);
  const validated = progress(ctx, 'Progress Validated', PROGRESS.validated);
  toProgressOnError(validated, onValid);
  validated.next(onValid);
  const validChoice = new sfn.Choice(ctx.scope, 'Input Valid?')
    .when(sfn.Condition.booleanEquals('$.validation.valid', true), validated)
    .otherwise(rejectedInvalid);
  const merge = new sfn.Pass(ctx.scope, 'Complete Validation', {
    parameters: { 'merged.$': 'States.JsonMerge($.validatorAnswer.defaults, $.validatorAnswer.raw, false)' },
    resultPath: '$.validatorAnswer',
  });
  const place = new sfn.Pass(ctx.scope, 'Use Validation', { inputPath: '$.validatorAnswer.merged', resultPath: '$.validation' });
  const required = o.rules.requiredMetadata ?? [];
  if (required.length === 0) {
    validate.next(merge).next(place).next(validChoice);
    return started;
  }
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
  validate.next(merge).next(place).next(metadataCheck);
  return started;
}
