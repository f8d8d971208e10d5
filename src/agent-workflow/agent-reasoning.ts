import { Duration } from 'aws-cdk-lib';

/** How the model is called. */
export enum ReasoningInvocation {
  /**
   * The Step Functions AWS SDK integration for Bedrock Converse when the model can read the
   * attachment from S3 (Amazon Nova Lite/Pro/Premier) and `maxTokens` keeps the answer small
   * (at most 4,000 tokens); the bundled Lambda otherwise.
   */
  AUTO = 'AUTO',
  /** The Step Functions `aws-sdk:bedrockruntime:converse` integration; a Lambda step checkpoints and validates. */
  SDK_INTEGRATION = 'SDK_INTEGRATION',
  /** The bundled reasoner Lambda calls Converse, checkpoints and validates (any model; images as bytes). */
  LAMBDA = 'LAMBDA',
}

/** How the model is made to answer in JSON. */
export enum StructuredOutput {
  /** Converse `outputConfig.textFormat` json_schema (native structured output, where the model supports it). */
  JSON_SCHEMA = 'JSON_SCHEMA',
  /** A single tool whose input schema is the output schema, forced with `toolChoice` (Nova, Claude). */
  TOOL_USE = 'TOOL_USE',
}

/** Options of Bedrock Converse reasoning. */
export interface BedrockConverseOptions {
  /**
   * Model id (`amazon.nova-pro-v1:0`) or inference profile id (`us.amazon.nova-pro-v1:0`). The
   * workflow may invoke exactly this model (and, for a cross-region profile, its foundation model
   * in the profile's regions).
   */
  readonly modelId: string;
  /**
   * Regions a cross-region inference profile routes to (its foundation-model ARNs are granted in each).
   * @default - for a `us.`/`eu.`/`apac.` profile: the regions that geography's profiles use; else none
   */
  readonly inferenceProfileRegions?: string[];
  /** The system prompt. */
  readonly systemPrompt: string;
  /**
   * The user prompt. Placeholders: `{{key}}`, `{{bucket}}`, `{{contentType}}`, `{{metadata.<name>}}`
   * (`<name>` normalized: lower case, `-` written `_`); any other `{{...}}` is an error at synth time.
   */
  readonly prompt: string;
  /** JSON Schema of the answer (top-level `type: object`), checked at synth time. */
  readonly outputSchema: { [key: string]: any };
  /**
   * Send the trigger object (an image or document) to the model.
   * @default true
   */
  readonly attachTriggerObject?: boolean;
  /**
   * How the answer is forced into the schema.
   * @default StructuredOutput.TOOL_USE
   */
  readonly structuredOutput?: StructuredOutput;
  /**
   * With `StructuredOutput.TOOL_USE`: ask the model to enforce the schema strictly (`toolSpec.strict`).
   * Only for models that support strict tool use (a model that does not rejects the request); on the
   * SDK integration path Step Functions must also know the field.
   * @default false
   */
  readonly strictToolUse?: boolean;
  /**
   * How the model is called.
   * @default ReasoningInvocation.AUTO
   */
  readonly invocation?: ReasoningInvocation;
  /**
   * Maximum answer tokens.
   * @default 2000
   */
  readonly maxTokens?: number;
  /**
   * Sampling temperature (0..1).
   * @default - the model's default
   */
  readonly temperature?: number;
  /**
   * Attempts after a throttled or not-ready model (exponential backoff, full jitter).
   * @default 5
   */
  readonly maxRetries?: number;
  /**
   * First retry interval after throttling.
   * @default Duration.seconds(2)
   */
  readonly retryInterval?: Duration;
  /**
   * Extra attempts when the answer does not match the schema (the invalid answer is kept in S3).
   * Only with the Lambda invocation (the SDK integration path records the violation at once).
   * @default 1
   */
  readonly schemaRetries?: number;
}

/** The reasoning step. */
export class AgentReasoning {
  /**
   * Amazon Bedrock Converse with JSON-schema structured output.
   * @param options the model, the prompts, the output schema and how the model is called
   */
  public static bedrockConverse(options: BedrockConverseOptions): AgentReasoning {
    return new AgentReasoning(options);
  }

  private constructor(
    /** The options. */
    public readonly options: BedrockConverseOptions,
  ) {}
}
