import { Duration, Size, SizeRoundingBehavior } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { IConstruct } from 'constructs';
import { BedrockConverseOptions, ReasoningInvocation, StructuredOutput } from './agent-reasoning';
import { AgentTool } from './agent-tool';
import { AgentField, ApprovalPolicy, DecisionCondition, HumanApproval } from './approval';
import { ContextCheckpointOptions } from './context-checkpoint';
import { InputValidation } from './input-validation';
import { readsS3Location } from './model-arns';
import { AttachmentMode } from './runtime/contracts';
import { checkSchema } from './runtime/json-schema';
import type { StepFunctionsAgentWorkflowProps } from './step-functions-agent-workflow';
import { AgentWorkflowWarnings } from './warnings';
import { checkFactoryMade, throwPropError, validateRange } from '../core/errors';

/** The longest a Standard execution may run (one year), less the hour the workflow keeps for its other steps. */
const MAX_APPROVAL_SECONDS = 365 * 24 * 3600 - 3600;
/** Converse accepts images up to 3.75 MB as bytes. */
const MAX_IMAGE_BYTES = 3.75 * 1024 * 1024;
const IMAGE_TYPE = /^image\/(png|jpeg|gif|webp)$/;
/** The highest key segment index the validator outputs. */
const MAX_KEY_SEGMENT = 19;

const DAY_SECONDS = 24 * 3600;
/** How long the handlers cache the signing keys (runtime/signing-key.ts). */
const KEY_CACHE_SECONDS = 5 * 60;

/**
 * The signing-key rotation interval: whole days (`rate(N days)`), at most 1000, and long enough that
 * a link expires before its key is retired by a second rotation (Secrets Manager keeps only
 * AWSPREVIOUS): the longest approval wait, plus the day within which Secrets Manager picks the
 * hour of a scheduled rotation, plus the handlers' key cache. Returns the interval in days.
 * @internal
 */
export function checkSigningKeyRotation(scope: IConstruct, rotation: Duration, longestWaitSeconds: number): number {
  const prop = 'approval.signingKeyRotation';
  const seconds = rotation.toSeconds();
  if (seconds % DAY_SECONDS !== 0) {
    throwPropError(scope, prop, `must be a whole number of days (the schedule is rate(N days)), got ${rotation.toHumanString()}`);
  }
  const days = seconds / DAY_SECONDS;
  const minDays = Math.ceil((longestWaitSeconds + DAY_SECONDS + KEY_CACHE_SECONDS) / DAY_SECONDS);
  if (days < minDays || days > 1000) {
    const wait = Duration.seconds(longestWaitSeconds).toHumanString();
    throwPropError(scope, prop, `must be in ${minDays}..1000 days, got ${days}: only the previous key stays valid after a rotation, so a link `
      + `must expire before a second rotation retires its key. The interval must exceed the longest approval wait (${wait}: the timeout `
      + 'plus the escalation timeout) by one day (Secrets Manager picks the hour of a rotation at random within its day) and 5 minutes '
      + '(the handlers cache the keys). Lengthen the interval or shorten the timeouts.');
  }
  return days;
}

/** A legal but risky choice, warned about at synth (`Annotations.addWarningV2(id, message)`). @internal */
export interface ConfigWarning {
  readonly id: string;
  readonly message: string;
}

/**
 * The workflow's props checked, defaulted and decided: every choice the construct and the definition
 * builders make from the props (reasoning invocation, attachment mode, timeouts), and nothing else.
 * @internal
 */
export interface ResolvedConfig {
  /** The reasoning options as given. */
  readonly reasoning: BedrockConverseOptions;
  readonly tools: AgentTool[];
  readonly toolNames: Set<string>;
  readonly policy: ApprovalPolicy;
  /** The human approval step, when the policy has one. */
  readonly approval?: HumanApproval;
  /** The primary approval wait. */
  readonly approvalTimeout: Duration;
  /** Whether a timed-out approval escalates. */
  readonly hasEscalation: boolean;
  /** The escalation wait (the primary timeout unless given). */
  readonly escalationTimeout: Duration;
  /** Seconds the approval steps may wait in all (0 without approval). */
  readonly approvalSeconds: number;
  readonly checkpoint: ContextCheckpointOptions;
  readonly checkpointTtl: Duration;
  readonly memoryItems: number;
  readonly validation: InputValidation;
  /** The user's validator function is used (not the built-in one). */
  readonly customValidator: boolean;
  readonly maxSizeBytes: number;
  /** Accepted content types, lower case ([] = any). */
  readonly contentTypes: string[];
  /** Metadata names the definition reads by path (sorted, normalized). */
  readonly requiredMetadata: string[];
  /** Key segments the definition reads by path, or that the user requires (sorted). */
  readonly requiredKeySegments: number[];
  /** The key segment that is the memory actor id (built-in validator), if any. */
  readonly actorIdKeySegment?: number;
  readonly maxTokens: number;
  readonly structuredOutput: StructuredOutput;
  /** The trigger object is attached to the model request. */
  readonly attach: boolean;
  /** AUTO resolved: LAMBDA or SDK_INTEGRATION. */
  readonly invocation: ReasoningInvocation;
  readonly attachment: AttachmentMode;
  /** The model reads a copy of the validated version (S3 location, built-in validator). */
  readonly snapshot: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly artifactRetention: Duration;
  readonly warnings: ConfigWarning[];
}

/**
 * Checks the props and makes every choice that follows from them. Pure: no construct is created and
 * nothing is added to the tree; an invalid prop throws an error naming `scope`'s path, the prop and
 * the allowed range, and risky choices come back as `warnings`.
 * @internal
 */
export function resolveConfig(scope: IConstruct, props: StepFunctionsAgentWorkflowProps): ResolvedConfig {
  const r = props.reasoning.options;
  const tools = props.tools ?? [];
  const policy = props.approval ?? ApprovalPolicy.never();
  const checkpoint: ContextCheckpointOptions = props.checkpoint ?? {};
  const validation = props.validation ?? InputValidation.s3Object();
  const warnings: ConfigWarning[] = [];

  // ---- reasoning, checkpoint, validation
  const schemaProblems = checkSchema(r.outputSchema);
  if (schemaProblems.length > 0) throwPropError(scope, 'reasoning.outputSchema', schemaProblems.join('; '));
  const maxTokens = r.maxTokens ?? 2000;
  validateRange(scope, 'reasoning.maxTokens', maxTokens, 1, 100_000, { integer: true });
  if (r.temperature !== undefined) validateRange(scope, 'reasoning.temperature', r.temperature, 0, 1);
  validateRange(scope, 'reasoning.maxRetries', r.maxRetries, 0, 10, { integer: true });
  validateRange(scope, 'reasoning.schemaRetries', r.schemaRetries, 0, 3, { integer: true });
  validateRange(scope, 'checkpoint.memoryItems', checkpoint.memoryItems, 0, 10, { integer: true });
  if (!r.modelId) throwPropError(scope, 'reasoning.modelId', 'is required');
  checkPromptPlaceholders(scope, r.prompt);
  const maxSize = validation.options.maxSize ?? Size.mebibytes(5);
  const maxSizeBytes = maxSize.toBytes();
  validateRange(scope, 'validation.maxSize', maxSizeBytes, 1, 5 * 1024 * 1024 * 1024);

  const keySegmentProp = (prop: string, index: number | undefined) =>
    validateRange(scope, prop, index, 0, MAX_KEY_SEGMENT, { integer: true });
  (validation.options.requiredKeySegments ?? []).forEach((i) => keySegmentProp('validation.requiredKeySegments', i));
  const actorIdKeySegment = validation.options.actorIdKeySegment;
  keySegmentProp('validation.actorIdKeySegment', actorIdKeySegment);

  // ---- tools
  const toolNames = new Set<string>();
  tools.forEach((t, i) => checkFactoryMade(scope, `tools[${i}]`, t, 'AgentTool', ['dynamoDbGetItem', 'dynamoDbQuery', 'lambdaFunction', 'http']));
  for (const t of tools) {
    if (toolNames.has(t.name)) throwPropError(scope, 'tools', `two tools are named '${t.name}'`);
    toolNames.add(t.name);
  }
  if (tools.length > 5) {
    warnings.push({
      id: AgentWorkflowWarnings.TOO_MANY_TOOLS,
      message: `${tools.length} tools: agent reliability drops beyond 4-5 tools; consider splitting the workflow.`,
    });
  }

  // ---- decision and approval
  const allConditions = [...policy.conditions, ...policy.rejectWhen];
  checkFields(scope, allConditions, r.outputSchema, toolNames);
  const approval = policy.approval;
  const approvalTimeout = approval?.options.timeout ?? Duration.days(2);
  if (approval) {
    validateRange(scope, 'approval.timeout', approvalTimeout.toSeconds(), 60, MAX_APPROVAL_SECONDS);
    const hb = approval.options.heartbeat;
    if (hb && hb.toSeconds() >= approvalTimeout.toSeconds()) {
      throwPropError(scope, 'approval.heartbeat', `must be shorter than the timeout (${approvalTimeout.toHumanString()})`);
    }
  }
  const escalation = approval?.options.onTimeout?.escalationTopic;
  const escalationTimeout = approval?.options.onTimeout?.escalationTimeout ?? approvalTimeout;
  if (approval && escalation) {
    if (escalationTimeout.toSeconds() < 60) {
      throwPropError(scope, 'approval.onTimeout', `the escalation timeout must be at least 60 seconds, got ${escalationTimeout.toSeconds()}`);
    }
    const hb = approval.options.heartbeat;
    if (hb && hb.toSeconds() >= escalationTimeout.toSeconds()) {
      throwPropError(scope, 'approval.heartbeat', `must be shorter than the escalation timeout (${escalationTimeout.toHumanString()})`);
    }
    if (approvalTimeout.toSeconds() + escalationTimeout.toSeconds() > MAX_APPROVAL_SECONDS) {
      throwPropError(scope, 'approval.onTimeout', 'the approval and escalation timeouts together must stay under the one-year execution limit (minus an hour)');
    }
  }
  if (approval?.options.signingKeyRotation) {
    const longestWait = approvalTimeout.toSeconds() + (escalation ? escalationTimeout.toSeconds() : 0);
    checkSigningKeyRotation(scope, approval.options.signingKeyRotation, longestWait);
  }

  // ---- how the model is called, and how it sees the input
  const structuredOutput = r.structuredOutput ?? StructuredOutput.TOOL_USE;
  const attach = r.attachTriggerObject ?? true;
  const s3Capable = readsS3Location(r.modelId);
  const contentTypes = (validation.options.contentTypes ?? []).map((c) => c.toLowerCase());
  let invocation = r.invocation ?? ReasoningInvocation.AUTO;
  if (invocation === ReasoningInvocation.AUTO) {
    const imagesOnly = contentTypes.length > 0 && contentTypes.every((c) => IMAGE_TYPE.test(c));
    invocation = s3Capable && maxTokens <= 4000 && (!attach || imagesOnly) ? ReasoningInvocation.SDK_INTEGRATION : ReasoningInvocation.LAMBDA;
  }
  if (invocation === ReasoningInvocation.SDK_INTEGRATION) {
    if (attach && !s3Capable) {
      throwPropError(scope, 'reasoning.invocation', `the SDK integration needs a model that reads S3 attachments (Amazon Nova Lite/Pro/Premier); '${r.modelId}' does not: use ReasoningInvocation.LAMBDA`);
    }
    if (maxTokens > 4000) {
      throwPropError(scope, 'reasoning.maxTokens', `the SDK integration passes the raw answer through the state: at most 4000 tokens (~16 KB), got ${maxTokens}; use ReasoningInvocation.LAMBDA for longer answers`);
    }
    if (/\\/.test(r.prompt) && /\{\{/.test(r.prompt)) {
      throwPropError(scope, 'reasoning.prompt', 'a prompt with placeholders may not contain a backslash on the SDK integration path (it becomes a States.Format literal)');
    }
    if (attach && (contentTypes.length === 0 || contentTypes.some((c) => !IMAGE_TYPE.test(c)))) {
      throwPropError(scope, 'validation.contentTypes', 'the SDK integration attaches images only: list image/png, image/jpeg, image/gif or image/webp (or use ReasoningInvocation.LAMBDA)');
    }
  }
  const attachment: AttachmentMode = !attach ? 'none' : s3Capable ? 's3_location' : 'bytes';
  const snapshot = attachment === 's3_location' && !validation.fn;
  if (attachment === 'bytes' && maxSizeBytes > MAX_IMAGE_BYTES) {
    // NONE, not FAIL: a limit such as Size.kibibytes(4500) is not a whole number of MiB
    const mib = Number(maxSize.toMebibytes({ rounding: SizeRoundingBehavior.NONE }).toFixed(2));
    warnings.push({
      id: AgentWorkflowWarnings.IMAGE_LIMIT_ABOVE_CONVERSE,
      message: `validation.maxSize is ${mib} MiB but Converse accepts images up to 3.75 MB as bytes; larger valid uploads will fail in the reasoner.`,
    });
  }

  // ---- storage
  const artifactRetention = props.artifactRetention ?? Duration.days(365);
  validateRange(scope, 'artifactRetention', artifactRetention.toDays({ integral: false }), 1, 36500, { integer: true });

  return {
    reasoning: r,
    tools,
    toolNames,
    policy,
    approval,
    approvalTimeout,
    hasEscalation: !!(approval && escalation),
    escalationTimeout,
    approvalSeconds: approval ? approvalTimeout.toSeconds() + (escalation ? escalationTimeout.toSeconds() : 0) : 0,
    checkpoint,
    checkpointTtl: checkpoint.ttl ?? Duration.days(30),
    memoryItems: checkpoint.memoryItems ?? 3,
    validation,
    customValidator: !!validation.fn,
    maxSizeBytes,
    contentTypes,
    // metadata the definition reads by path must exist (a missing path would fail the execution)
    requiredMetadata: [...new Set([
      ...(validation.options.requiredMetadata ?? []).map((m) => m.toLowerCase().replace(/[^a-z0-9_]/g, '_')),
      ...[...r.prompt.matchAll(/\{\{\s*metadata\.([a-z0-9_]+)\s*\}\}/g)].map((m) => m[1]),
      ...allConditions.flatMap((c) => c._fields).filter((f) => f._kind === 'metadata').map((f) => f._name),
    ])].sort(),
    // key segments the definition reads must exist (the validator rejects a key without them)
    requiredKeySegments: [...new Set([
      ...(validation.options.requiredKeySegments ?? []),
      ...allConditions.flatMap((c) => c._fields).filter((f) => f._kind === 'keySegment').map((f) => Number(f._name)),
      ...(actorIdKeySegment !== undefined ? [actorIdKeySegment] : []),
    ])].sort((a, b) => a - b),
    actorIdKeySegment,
    maxTokens,
    structuredOutput,
    attach,
    invocation,
    attachment,
    snapshot,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    artifactRetention,
    warnings,
  };
}

/** The placeholders both renderers know (the SDK integration's States.Format and the reasoner Lambda). */
const KNOWN_PLACEHOLDER = /^\s*(key|bucket|contentType|metadata\.[a-z0-9_]+)\s*$/;
const ALLOWED_PLACEHOLDERS = '{{key}}, {{bucket}}, {{contentType}} and {{metadata.<name>}} (<name> normalized: lower case, letters, digits and _)';

/** Every `{{...}}` in the prompt is a known placeholder: an unknown one would reach the model as it is. */
function checkPromptPlaceholders(scope: IConstruct, prompt: string): void {
  for (const m of prompt.matchAll(/\{\{([^{}]*)\}\}/g)) {
    if (KNOWN_PLACEHOLDER.test(m[1])) continue;
    const metadata = /^\s*metadata\.(.+?)\s*$/.exec(m[1]);
    const normalized = metadata ? metadata[1].toLowerCase().replace(/[^a-z0-9_]/g, '_') : '';
    const hint = metadata && /^[a-z0-9_]+$/.test(normalized) ? ` (did you mean {{metadata.${normalized}}}?)` : '';
    throwPropError(scope, 'reasoning.prompt', `unknown placeholder '${m[0]}'${hint}: the allowed placeholders are ${ALLOWED_PLACEHOLDERS}`);
  }
}

/** Every field a condition reads exists, is scalar, and is compared as one type. */
function checkFields(scope: IConstruct, conditions: DecisionCondition[], schema: { [k: string]: any }, toolNames: Set<string>): void {
  const props = (schema.properties ?? {}) as Record<string, any>;
  const comparedAs = new Map<string, string>();
  for (const check of conditions.flatMap((c) => c._checks)) {
    const before = comparedAs.get(check.field.jsonPath);
    if (before && before !== check.type) {
      throwPropError(scope, 'approval', `field '${check.field.label}' is compared as both ${before} and ${check.type}: every input would go to a person`);
    }
    comparedAs.set(check.field.jsonPath, check.type);
  }
  for (const c of conditions) {
    for (const f of c._fields as AgentField[]) {
      if (f._kind === 'output') {
        const p = props[f._name];
        if (!p) throwPropError(scope, 'approval', `condition '${c.description}' reads output field '${f._name}', which outputSchema does not declare`);
        const types = ([] as string[]).concat(p.type ?? []);
        if (types.some((t) => t === 'object' || t === 'array')) {
          throwPropError(scope, 'approval', `condition '${c.description}' reads output field '${f._name}' of type ${types.join('|')}; only scalar fields reach the state`);
        }
      }
      if (f._kind === 'tool' && !toolNames.has(f._tool!)) {
        throwPropError(scope, 'approval', `condition '${c.description}' reads tool '${f._tool}', which is not in tools`);
      }
    }
  }
}
