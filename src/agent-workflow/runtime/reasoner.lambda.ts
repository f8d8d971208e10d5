/**
 * Reasoner of the agent workflow (Lambda task "Reason" in LAMBDA mode, "Checkpoint" in SDK mode).
 *
 * invoke:     prior summaries (memory) → optional image bytes → Converse (one attempt: the state
 *             machine owns retries) → answer.
 * checkpoint: the answer comes from the Step Functions Converse integration (event.raw, PascalCase).
 * Then both: extract the structured answer, store it in S3 (always, before any schema error),
 * validate it, publish token metrics, and on success write a checkpoint (summary) to the context
 * table and return a small result (scalar fields + keys; never the answer itself).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { BedrockRuntimeClient, ConverseCommand, ConverseCommandInput, ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  buildConverseRequest, buildSummaryRequest, deterministicSummary, extractAnswer, projectFields, promptHash,
  renderPrompt, sha256Digest, summaryText,
} from './answer';
import {
  CONTEXT_KEYS, METRIC, RETRYABLE_MODEL_ERRORS, ReasonEvent, ReasonResult, ReasoningConfig, SCHEMA_VIOLATION_ERROR, ValidationResult,
} from './contracts';
import { checkSchema, validateValue } from './json-schema';
import { structuredLog } from './log';
import { parseProgressRequest, PROGRESS, ProgressSender, readProgressConfig, sendProgress } from './progress-events';
import { parseToolProjections, projectToolResults } from './tool-results';
import { documentClient } from '../../core/runtime/document-client';
import { StructuredLog } from '../../core/runtime/log';

/**
 * Largest image the reasoner sends as bytes: Converse accepts images of at most 3.75 MB each
 * (Bedrock API reference, Message: "Each image's size, height, and width must be no more than
 * 3.75 MB, 8000 px, and 8000 px"). Read as MiB: 3.75 × 2^20 bytes (= a 5 MiB base64 payload).
 */
export const MAX_IMAGE_BYTES = 3.75 * 1024 * 1024;
/** Error name when the object is too large to send as bytes (not retryable). */
export const ATTACHMENT_TOO_LARGE_ERROR = 'AttachmentTooLarge';
/** Most prior summaries read from the context table. */
export const MAX_MEMORY_ITEMS = 50;

export interface ReasonerEnv {
  readonly artifactBucket: string;
  /** '' or a prefix such as `agent-artifacts/`. */
  readonly artifactPrefix: string;
  readonly contextTable: string;
  readonly contextTtlSeconds: number;
  readonly metricsNamespace: string;
  readonly workflowName: string;
}

/** Reads and checks the environment; the error names the variable. */
export function parseReasonerEnv(env: Record<string, string | undefined>): ReasonerEnv {
  const required = (name: string): string => {
    const v = env[name];
    if (v === undefined || v.trim() === '') throw new Error(`environment variable ${name} is required`);
    return v.trim();
  };
  const prefix = env.ARTIFACT_PREFIX;
  if (prefix === undefined) throw new Error('environment variable ARTIFACT_PREFIX is required (it may be empty)');
  if (prefix.startsWith('/')) throw new Error(`environment variable ARTIFACT_PREFIX must not start with '/', got '${prefix}'`);
  const ttlText = required('CONTEXT_TTL_SECONDS');
  const ttl = Number(ttlText);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new Error(`environment variable CONTEXT_TTL_SECONDS must be a positive integer, got '${ttlText}'`);
  return {
    artifactBucket: required('ARTIFACT_BUCKET'),
    artifactPrefix: prefix,
    contextTable: required('CONTEXT_TABLE'),
    contextTtlSeconds: ttl,
    metricsNamespace: required('METRICS_NAMESPACE'),
    workflowName: required('WORKFLOW_NAME'),
  };
}

// ---------------------------------------------------------------------------------------------
// Event validation

function fail(path: string, msg: string): never {
  throw new Error(`invalid reasoner event: ${path} ${msg}`);
}
function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  return v as Record<string, unknown>;
}
function str(o: Record<string, unknown>, k: string, path: string, opts: { nonEmpty?: boolean; max?: number } = {}): string {
  const v = o[k];
  if (typeof v !== 'string') fail(`${path}.${k}`, 'must be a string');
  if (opts.nonEmpty && v.trim() === '') fail(`${path}.${k}`, 'must not be empty');
  if (opts.max !== undefined && v.length > opts.max) fail(`${path}.${k}`, `must be at most ${opts.max} characters`);
  return v;
}
function num(o: Record<string, unknown>, k: string, path: string, check: (n: number) => boolean, what: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) fail(`${path}.${k}`, `must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}
function oneOf<T extends string>(o: Record<string, unknown>, k: string, path: string, allowed: readonly T[]): T {
  const v = o[k];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(`${path}.${k}`, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** Checks the task input; throws a clear error (before any AWS call) when it is malformed. */
export function parseReasonEvent(event: unknown): ReasonEvent {
  const e = obj(event, 'event');
  const mode = oneOf(e, 'mode', 'event', ['invoke', 'checkpoint'] as const);
  const executionId = str(e, 'executionId', 'event', { nonEmpty: true, max: 2048 });
  const step = str(e, 'step', 'event', { nonEmpty: true, max: 80 });

  const v = obj(e.validation, 'event.validation');
  if (v.valid !== true) fail('event.validation.valid', 'must be true (the reasoner only runs on a valid input)');
  const metadata = obj(v.metadata ?? {}, 'event.validation.metadata');
  for (const [k, val] of Object.entries(metadata)) if (typeof val !== 'string') fail(`event.validation.metadata.${k}`, 'must be a string');
  const versionId = v.versionId;
  if (versionId !== null && versionId !== undefined && typeof versionId !== 'string') fail('event.validation.versionId', 'must be a string or null');
  const validation: ValidationResult = {
    valid: true,
    reason: typeof v.reason === 'string' ? v.reason : '',
    bucket: str(v, 'bucket', 'event.validation', { nonEmpty: true }),
    key: str(v, 'key', 'event.validation', { nonEmpty: true }),
    versionId: typeof versionId === 'string' && versionId !== '' ? versionId : null,
    size: num(v, 'size', 'event.validation', (n) => n >= 0, 'a non-negative number'),
    contentType: str(v, 'contentType', 'event.validation'),
    etag: typeof v.etag === 'string' ? v.etag : '',
    actorId: typeof v.actorId === 'string' ? v.actorId : '',
    sessionId: typeof v.sessionId === 'string' ? v.sessionId : '',
    memoryScope: str(v, 'memoryScope', 'event.validation'),
    analysisBucket: typeof v.analysisBucket === 'string' ? v.analysisBucket : '',
    analysisKey: typeof v.analysisKey === 'string' ? v.analysisKey : '',
    metadata: metadata as Record<string, string>,
  };

  const c = obj(e.config, 'event.config');
  const outputSchema = obj(c.outputSchema, 'event.config.outputSchema');
  const schemaProblems = checkSchema(outputSchema);
  if (schemaProblems.length > 0) fail('event.config.outputSchema', `is not a supported JSON schema: ${schemaProblems.slice(0, 5).join('; ')}`);
  const toolName = str(c, 'toolName', 'event.config');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(toolName)) fail('event.config.toolName', `must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(toolName)}`);
  const config: ReasoningConfig = {
    modelId: str(c, 'modelId', 'event.config', { nonEmpty: true }),
    systemPrompt: str(c, 'systemPrompt', 'event.config'),
    prompt: str(c, 'prompt', 'event.config', { nonEmpty: true }),
    outputSchema,
    structuredOutput: oneOf(c, 'structuredOutput', 'event.config', ['json_schema', 'tool_use'] as const),
    attachment: oneOf(c, 'attachment', 'event.config', ['none', 's3_location', 'bytes'] as const),
    maxTokens: num(c, 'maxTokens', 'event.config', (n) => Number.isInteger(n) && n > 0, 'a positive integer'),
    temperature: num(c, 'temperature', 'event.config', (n) => n === -1 || (n >= 0 && n <= 2), '-1 (not set) or between 0 and 2'),
    summarizerModelId: str(c, 'summarizerModelId', 'event.config'),
    memoryItems: num(c, 'memoryItems', 'event.config', (n) => Number.isInteger(n) && n >= 0 && n <= MAX_MEMORY_ITEMS, `an integer 0..${MAX_MEMORY_ITEMS}`),
    strictToolUse: c.strictToolUse === true,
    toolName,
  };

  let raw: ReasonEvent['raw'];
  if (mode === 'checkpoint') {
    const r = obj(e.raw, 'event.raw');
    if (!Array.isArray(r.content)) fail('event.raw.content', 'must be an array (Output.Message.Content of the Converse answer)');
    const usage = obj(r.usage, 'event.raw.usage');
    raw = {
      stopReason: str(r, 'stopReason', 'event.raw'),
      content: r.content,
      usage: {
        InputTokens: num(usage, 'InputTokens', 'event.raw.usage', (n) => n >= 0, 'a non-negative number'),
        OutputTokens: num(usage, 'OutputTokens', 'event.raw.usage', (n) => n >= 0, 'a non-negative number'),
      },
    };
  }
  return { mode, executionId, step, validation, config, raw };
}

// ---------------------------------------------------------------------------------------------
// Handler

export interface ReasonerMetrics {
  /** Adds a count with dimensions Workflow (fixed) and ModelId. */
  count(name: string, value: number, modelId: string): void;
}

/** The structured log (core/runtime/log.ts). */
export type ReasonerLog = StructuredLog;

export interface ReasonerDeps {
  readonly env: ReasonerEnv;
  readonly bedrock: BedrockRuntimeClient;
  readonly s3: S3Client;
  readonly ddb: DynamoDBDocumentClient;
  readonly metrics: ReasonerMetrics;
  readonly log: ReasonerLog;
  readonly now: () => Date;
  /** Sends the 'reasoning' (and, in digest mode, 'tools') progress event when the payload asks (runtime/progress-events.ts). */
  readonly progress?: ProgressSender;
}

function namedError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/** A path segment safe in an S3 key: characters outside [A-Za-z0-9._=-] become '_'. */
export function safeKeySegment(s: string): string {
  return s.replace(/[^A-Za-z0-9._=-]/g, '_').slice(0, 400);
}

export function artifactKeyFor(prefix: string, executionId: string, step: string): string {
  return `${prefix}${safeKeySegment(executionId)}/${safeKeySegment(step)}/answer.json`;
}

/** One Converse call; retryable Bedrock errors are rethrown with their name (the state machine retries them). */
async function converse(deps: ReasonerDeps, input: ConverseCommandInput): Promise<ConverseCommandOutput> {
  try {
    return await deps.bedrock.send(new ConverseCommand(input));
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    const message = err instanceof Error ? err.message : String(err);
    if (RETRYABLE_MODEL_ERRORS.includes(name)) {
      if (name === 'ThrottlingException') deps.metrics.count(METRIC.modelThrottles, 1, input.modelId ?? '');
      deps.log.warn('Bedrock Converse failed with a retryable error', { modelId: input.modelId, error: name, errorMessage: message });
      throw namedError(name, `Bedrock Converse (${input.modelId}): ${name}: ${message}`);
    }
    throw err;
  }
}

async function readMemory(deps: ReasonerDeps, scope: string, limit: number): Promise<string[]> {
  const res = await deps.ddb.send(new QueryCommand({
    TableName: deps.env.contextTable,
    KeyConditionExpression: '#scope = :scope',
    ExpressionAttributeNames: { '#scope': CONTEXT_KEYS.partitionKey, '#summary': 'summary' },
    ExpressionAttributeValues: { ':scope': scope },
    ProjectionExpression: '#summary',
    ScanIndexForward: false,
    Limit: limit,
  }));
  return (res.Items ?? []).map((i) => i.summary).filter((s): s is string => typeof s === 'string' && s.trim() !== '');
}

async function readImage(deps: ReasonerDeps, validation: ValidationResult): Promise<Uint8Array> {
  const tooLarge = (size: number) => namedError(ATTACHMENT_TOO_LARGE_ERROR,
    `s3://${validation.bucket}/${validation.key} is ${size} bytes; Converse accepts images of at most ${MAX_IMAGE_BYTES} bytes (3.75 MB) as bytes`);
  if (validation.size > MAX_IMAGE_BYTES) throw tooLarge(validation.size);
  const res = await deps.s3.send(new GetObjectCommand({
    Bucket: validation.bucket,
    Key: validation.key,
    ...(validation.versionId ? { VersionId: validation.versionId } : {}),
    // the object the validator described: overwritten since (a bucket without versioning), the read
    // fails (412 PreconditionFailed) rather than send the model bytes that were never validated
    ...(validation.etag ? { IfMatch: validation.etag } : {}),
  }));
  if (!res.Body) throw new Error(`s3://${validation.bucket}/${validation.key}: GetObject returned no body`);
  if ((res.ContentLength ?? 0) > MAX_IMAGE_BYTES) {
    (res.Body as { destroy?: () => void }).destroy?.();
    throw tooLarge(res.ContentLength!);
  }
  const bytes = await res.Body.transformToByteArray();
  if (bytes.length > MAX_IMAGE_BYTES) throw tooLarge(bytes.length);
  return bytes;
}

async function summarize(deps: ReasonerDeps, modelId: string, answer: unknown, fallback: string): Promise<string> {
  try {
    const res = await converse(deps, buildSummaryRequest(modelId, answer));
    deps.metrics.count(METRIC.inputTokens, res.usage?.inputTokens ?? 0, modelId);
    deps.metrics.count(METRIC.outputTokens, res.usage?.outputTokens ?? 0, modelId);
    const text = summaryText(res.output?.message?.content);
    if (text === '') throw new Error(`the summarizer answered without text (stopReason ${res.stopReason})`);
    return text;
  } catch (err) {
    deps.log.warn('summarizer failed; using the deterministic summary', {
      summarizerModelId: modelId,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
    return fallback;
  }
}

/** Handles one reasoning task. Exported for tests (clients, clock, metrics and log injected). */
export async function handle(event: unknown, deps: ReasonerDeps): Promise<ReasonResult> {
  const ev = parseReasonEvent(event);
  const progress = parseProgressRequest((event as { progress?: unknown }).progress, 'invalid reasoner event: event.progress');
  const { config, validation } = ev;
  const renderedPrompt = renderPrompt(config.prompt, validation);
  const hash = promptHash(config.systemPrompt, renderedPrompt, config.outputSchema);

  let content: unknown[];
  let stopReason: string;
  let usage: { inputTokens: number; outputTokens: number };
  if (ev.mode === 'invoke') {
    const summaries = config.memoryItems > 0 && validation.memoryScope !== ''
      ? await readMemory(deps, validation.memoryScope, config.memoryItems)
      : [];
    const image = config.attachment === 'bytes' ? await readImage(deps, validation) : undefined;
    const res = await converse(deps, buildConverseRequest(config, validation, summaries, image));
    content = res.output?.message?.content ?? [];
    stopReason = res.stopReason ?? '';
    usage = { inputTokens: res.usage?.inputTokens ?? 0, outputTokens: res.usage?.outputTokens ?? 0 };
  } else {
    const raw = ev.raw!;
    content = raw.content;
    stopReason = raw.stopReason;
    usage = { inputTokens: raw.usage.InputTokens, outputTokens: raw.usage.OutputTokens };
  }
  deps.metrics.count(METRIC.inputTokens, usage.inputTokens, config.modelId);
  deps.metrics.count(METRIC.outputTokens, usage.outputTokens, config.modelId);

  const extracted = extractAnswer(content, config.structuredOutput, config.toolName);
  let errors: string[];
  if (!extracted.ok) {
    const cut = stopReason === 'max_tokens' ? `the answer was cut off at maxTokens (${config.maxTokens}): ` : '';
    const other = stopReason && !['end_turn', 'tool_use', 'max_tokens', 'stop_sequence'].includes(stopReason) ? ` (stopReason ${stopReason})` : '';
    errors = [`${cut}${extracted.error}${other}`];
  } else {
    errors = validateValue(config.outputSchema, extracted.value);
  }
  const valid = errors.length === 0;
  const outputDigest = extracted.ok ? sha256Digest(extracted.value) : '';
  const now = deps.now();

  // The artifact is written first, valid or not: nothing is lost when the step then fails.
  const artifactKey = artifactKeyFor(deps.env.artifactPrefix, ev.executionId, ev.step);
  const artifact = {
    ...(extracted.ok ? { answer: extracted.value } : { rawText: extracted.rawText }),
    stopReason,
    usage,
    modelId: config.modelId,
    promptHash: hash,
    valid,
    errors,
    outputDigest,
    executionId: ev.executionId,
    step: ev.step,
    createdAt: now.toISOString(),
  };
  await deps.s3.send(new PutObjectCommand({
    Bucket: deps.env.artifactBucket,
    Key: artifactKey,
    Body: JSON.stringify(artifact),
    ContentType: 'application/json',
  }));

  if (!valid) {
    deps.metrics.count(METRIC.schemaViolations, 1, config.modelId);
    const shown = errors.slice(0, 5).join('; ');
    const more = errors.length > 5 ? ` (+${errors.length - 5} more)` : '';
    deps.log.warn('the answer does not match the output schema', { step: ev.step, errors, artifactKey, stopReason });
    throw namedError(SCHEMA_VIOLATION_ERROR,
      `step '${ev.step}': the answer does not match the output schema: ${shown}${more}. Stored at s3://${deps.env.artifactBucket}/${artifactKey}`);
  }

  const answer = (extracted as { value: unknown }).value;
  const fields = projectFields(answer, config.outputSchema);
  const fallback = deterministicSummary(fields);
  const summary = config.summarizerModelId ? await summarize(deps, config.summarizerModelId, answer, fallback) : fallback;

  const checkpointId = `${now.toISOString()}#${ev.step}`;
  await deps.ddb.send(new PutCommand({
    TableName: deps.env.contextTable,
    Item: {
      [CONTEXT_KEYS.partitionKey]: validation.memoryScope || `execution#${ev.executionId}`,
      [CONTEXT_KEYS.sortKey]: checkpointId,
      executionId: ev.executionId,
      step: ev.step,
      summary,
      artifactKey,
      outputDigest,
      modelId: config.modelId,
      ttl: Math.floor(now.getTime() / 1000) + deps.env.contextTtlSeconds,
    },
  }));
  deps.log.info('reasoning step done', { step: ev.step, artifactKey, checkpointId, usage, stopReason });
  await sendProgress(deps.progress, progress, [{ milestone: PROGRESS.reasoned }]);

  return {
    valid: true,
    fields,
    artifactKey,
    summary,
    checkpointId,
    modelId: config.modelId,
    promptHash: hash,
    outputDigest,
    usage,
  };
}

// ---------------------------------------------------------------------------------------------
// Lambda entry point

const logger = new Logger({ serviceName: 'agent-workflow-reasoner' });

/**
 * Powertools metrics with exactly the dimensions Workflow and ModelId (the default `service`
 * dimension is removed so alarms can match). Counts are grouped by model id and flushed per group.
 */
export function powertoolsMetrics(namespace: string, workflowName: string): ReasonerMetrics & { flush(): void } {
  const metrics = new Metrics({ namespace, serviceName: 'agent-workflow-reasoner' });
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ Workflow: workflowName });
  const pending = new Map<string, Array<[string, number]>>();
  return {
    count(name, value, modelId) {
      const list = pending.get(modelId) ?? [];
      list.push([name, value]);
      pending.set(modelId, list);
    },
    flush() {
      for (const [modelId, list] of pending) {
        metrics.addDimension('ModelId', modelId);
        for (const [name, value] of list) metrics.addMetric(name, MetricUnit.Count, value);
        metrics.publishStoredMetrics();
      }
      pending.clear();
    },
  };
}

let cached: { deps: ReasonerDeps; flush: () => void } | undefined;

function init(): { deps: ReasonerDeps; flush: () => void } {
  if (cached) return cached;
  const env = parseReasonerEnv(process.env);
  const metrics = powertoolsMetrics(env.metricsNamespace, env.workflowName);
  cached = {
    flush: () => metrics.flush(),
    deps: {
      env,
      // One attempt: the state machine's Retry owns the back-off for model errors.
      bedrock: new BedrockRuntimeClient({ maxAttempts: 1 }),
      s3: new S3Client({}),
      ddb: documentClient(),
      metrics,
      now: () => new Date(),
      log: structuredLog(logger),
      progress: progressSender(),
    },
  };
  return cached;
}

function progressSender(): ProgressSender {
  const events = new EventBridgeClient({});
  return {
    config: readProgressConfig(process.env),
    putEvents: (input) => events.send(new PutEventsCommand(input)),
    log: structuredLog(logger),
    now: () => new Date(),
  };
}

/** The digest of tool results: `sha256` (hex) of their canonical JSON, and their size as JSON. */
export interface ToolsDigest {
  readonly value: string;
  readonly bytes: number;
}

/** Digest mode with GetItem projections: the projected results and their digest (merged over the state by "Use Tool Results"). */
export interface ProjectedToolResults {
  readonly tools: Record<string, unknown>;
  readonly toolsDigest: ToolsDigest;
}

/**
 * Digest mode: the digest of the tool results for the audit trail. Done here rather than with
 * States.Hash, whose input is limited to 10,000 characters. With `projections` (the GetItem tools'
 * specs), each such tool's raw result is projected first (runtime/tool-results.ts) and the answer
 * carries the projected results; without, the answer is the digest alone.
 */
export function digestToolResults(event: unknown): ToolsDigest | ProjectedToolResults {
  const e = (event ?? {}) as { tools?: unknown; projections?: unknown };
  const tools = e.tools;
  if (tools === null || typeof tools !== 'object' || Array.isArray(tools)) throw new Error('invalid digest event: tools must be an object');
  const digestOf = (value: object): ToolsDigest => ({ value: sha256Digest(value).replace(/^sha256:/, ''), bytes: Buffer.byteLength(JSON.stringify(value), 'utf8') });
  if (e.projections === undefined) return digestOf(tools);
  const projected = projectToolResults(tools as Record<string, unknown>, parseToolProjections(e.projections, 'invalid digest event: projections'));
  return { tools: projected, toolsDigest: digestOf(projected) };
}

/** Digest mode, then the 'tools' progress event when the payload asks for it. */
export async function handleDigest(event: unknown, deps: Pick<ReasonerDeps, 'progress'>): Promise<ToolsDigest | ProjectedToolResults> {
  const progress = parseProgressRequest((event as { progress?: unknown } | null)?.progress, 'invalid digest event: progress');
  const result = digestToolResults(event);
  await sendProgress(deps.progress, progress, [{ milestone: PROGRESS.toolsDone }]);
  return result;
}

export async function handler(event: unknown): Promise<ReasonResult | ToolsDigest | ProjectedToolResults> {
  const { deps, flush } = init();
  if ((event as { mode?: unknown } | null)?.mode === 'digest') return handleDigest(event, deps);
  try {
    return await handle(event, deps);
  } catch (err) {
    logger.error('reasoning step failed', { error: err instanceof Error ? { name: err.name, message: err.message } : String(err) });
    throw err;
  } finally {
    flush();
  }
}
