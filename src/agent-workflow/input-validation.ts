import { Size } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** Options of the built-in S3 object validator. */
export interface S3ObjectValidationOptions {
  /**
   * Largest object accepted.
   * @default Size.mebibytes(5)
   */
  readonly maxSize?: Size;
  /**
   * Accepted Content-Type values (e.g. `image/jpeg`).
   * @default - any content type
   */
  readonly contentTypes?: string[];
  /**
   * Compare the object's first bytes with its declared content type (JPEG, PNG, GIF, WebP, PDF).
   * @default true
   */
  readonly checkMagicBytes?: boolean;
  /**
   * S3 user metadata the object must carry (e.g. `policy-id` for `x-amz-meta-policy-id`), else the
   * input is invalid. Metadata named by prompt placeholders and `AgentField.metadata` conditions is
   * always required.
   * @default - only what the prompt and the conditions read
   */
  readonly requiredMetadata?: string[];
}

/** How the input is validated before any model sees it. */
export class InputValidation {
  /**
   * The built-in validator, which checks that the object exists, its size, its content type and its first bytes.
   * @param options the limits the object must meet
   */
  public static s3Object(options: S3ObjectValidationOptions = {}): InputValidation {
    return new InputValidation(options, undefined);
  }

  /**
   * Your Lambda function validates the input.
   *
   * It receives `{ request, rules }` and returns the ValidationResult documented in the README
   * (`valid`, `reason`, `bucket`, `key`, ...). A `valid: false` answer ends the execution in a
   * recorded REJECTED_INVALID outcome.
   * @param fn the validator function
   */
  public static lambdaFunction(fn: lambda.IFunction): InputValidation {
    return new InputValidation({}, fn);
  }

  private constructor(
    /** Options of the built-in validator. */
    public readonly options: S3ObjectValidationOptions,
    /** The user's validator function, if any. */
    public readonly fn: lambda.IFunction | undefined,
  ) {}
}
