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
  /**
   * Accept object keys that contain control characters (U+0000-U+001F, U+007F-U+009F: line breaks,
   * tabs, escape sequences).
   *
   * By default such a key is invalid input (REJECTED_INVALID): a line break in a key chosen by the
   * uploader would reach people as text (the approval e-mail, logs).
   * @default false
   */
  readonly allowControlCharactersInKey?: boolean;
  /**
   * Key segments (the key split on `/`, counted from 0) the object key must have as non-empty folders,
   * e.g. `[1]` for keys such as `claims/<policyId>/<file>`; a key without them is invalid input
   * (REJECTED_INVALID). The last segment (the object's name) never counts as a folder: IAM can restrict
   * the folders an uploader writes to, not the names.
   *
   * Read the segments with `AgentField.keySegment(n)` (e.g. in a tool's key); the segments read by
   * `AgentField.keySegment` conditions and by `actorIdKeySegment` are always required.
   * @default - only the segments the conditions and `actorIdKeySegment` read
   */
  readonly requiredKeySegments?: number[];
  /**
   * Take the memory actor id (whose earlier summaries the model sees, and under which this one is
   * kept) from this key segment (counted from 0), instead of the `actor-id` object metadata.
   *
   * Metadata is chosen by whoever uploads and no IAM policy can restrict its values; a key prefix can
   * be restricted per uploader (e.g. `s3:PutObject` only on `claims/${aws:PrincipalTag/customerId}/*`).
   * When set, the execution input's `actorId` and the `actor-id` metadata are ignored, and a key
   * without this folder segment is invalid input.
   * @default - the execution input's `actorId`, else the object's `actor-id` metadata
   */
  readonly actorIdKeySegment?: number;
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
